// Where an account's access requests go (`/chatbees-users requests channel <#C…>`): a channel the
// admins watch, chosen by an admin, or ACCESS_REQUESTS_CHANNEL (single-workspace mode) until one
// is chosen; with neither, each admin who can act gets a copy by DM. The app must be able to post
// in the channel: choosing it posts a line there, and a channel the app is not in is refused.
import { recordAudit } from '../audit-log.js';
import { authorizeAdmin, lockAsAdmin } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import { type Actor, type Refused, refuse } from '../types.js';

/** The channel an account's requests go to; undefined: by DM to its admins. */
export async function requestsChannelOf(services: Services, accountId: number): Promise<string | undefined> {
  const row = await services.knex('accounts').where({ id: accountId }).first('requests_channel');
  return (row?.requests_channel as string | null) ?? defaultChannel(services);
}

/** The deployment's default (ACCESS_REQUESTS_CHANNEL): single-workspace mode only. */
function defaultChannel(services: Services): string | undefined {
  return services.settings.multiWorkspace ? undefined : services.settings.requestsChannel;
}

export interface RequestsPlace {
  /** The channel, when requests go to one; else they go by DM to the admins. */
  channel?: string;
  /** Whether an admin chose it, or it is the deployment's default (ACCESS_REQUESTS_CHANNEL). */
  chosen: boolean;
}

export type ChannelOutcome =
  | { ok: true; place: RequestsPlace; changed: boolean }
  | Refused<
      'not_member' | 'not_admin' | 'not_in_channel' | 'channel_not_found' | 'channel_archived' | 'slack_unavailable'
    >;

/** Where requests go now (admins). */
export async function showRequestsChannel(services: Services, actor: Actor): Promise<ChannelOutcome> {
  const admin = await authorizeAdmin(services.knex, actor);
  if (!admin.ok) return admin;
  return { ok: true, place: await placeOf(services, actor.accountId), changed: false };
}

async function placeOf(services: Services, accountId: number): Promise<RequestsPlace> {
  const row = await services.knex('accounts').where({ id: accountId }).first('requests_channel');
  const chosen = (row?.requests_channel as string | null) ?? undefined;
  const channel = chosen ?? defaultChannel(services);
  return channel ? { channel, chosen: chosen !== undefined } : { chosen: false };
}

/** Slack's reasons a post did not land, as refusals an admin can act on. */
const POST_REFUSED: Record<string, 'not_in_channel' | 'channel_not_found' | 'channel_archived'> = {
  not_in_channel: 'not_in_channel',
  channel_not_found: 'channel_not_found',
  is_archived: 'channel_archived',
};

/**
 * An admin chooses the channel (`channel`), or goes back to DMs (null). The app posts a line in
 * the channel first: Slack's answer is the proof that requests can be posted there.
 */
export async function setRequestsChannel(
  services: Services,
  actor: Actor,
  input: { channel: string | null },
): Promise<ChannelOutcome> {
  const admin = await authorizeAdmin(services.knex, actor);
  if (!admin.ok) return admin;
  if (input.channel) {
    const account = await services.accounts.get(actor.accountId);
    if (!account) return refuse('not_member');
    const posted = await services.notifier.post(account, input.channel, {
      kind: 'requests_channel_set',
      by: actor.slackUserId,
    });
    if (!posted.ok) return refuse(POST_REFUSED[posted.error] ?? 'slack_unavailable');
  }
  return inTransaction(services.knex, async (trx): Promise<ChannelOutcome> => {
    const admin = await lockAsAdmin(trx, actor);
    if (!admin.ok) return admin;
    const before = await trx('accounts').where({ id: actor.accountId }).first('requests_channel');
    const was = (before?.requests_channel as string | null) ?? null;
    if (was !== input.channel) {
      await trx('accounts').where({ id: actor.accountId }).update({ requests_channel: input.channel });
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'access.requests_channel',
        source: actor.source,
        targetSlackUserId: null,
        before: { channel: was },
        after: { channel: input.channel },
        at: services.now(),
      });
    }
    const fallback = defaultChannel(services);
    const place = input.channel
      ? { channel: input.channel, chosen: true }
      : fallback
        ? { channel: fallback, chosen: false }
        : { chosen: false };
    return { ok: true, place, changed: was !== input.channel };
  });
}
