// Ask for access (`/chatbees-users request [reason]`, or Request access wherever a non-member is
// told they are not one): a person of the workspace who is not a member asks; the request goes to
// the account's requests channel when it has one, else by DM to the admins who can act, with
// Approve and Deny.

import { findMember } from '../checks.js';
import type { Services } from '../index.js';
import { inviteState } from '../invites.js';
import { JOB } from '../jobs.js';
import type { AccessRequestShown, SentAt } from '../notifier.js';
import { mayJoinNow } from '../people.js';
import type { Account, Refused } from '../types.js';
import { refuse } from '../types.js';
import { requestsChannelOf } from './requests-channel.js';

/** How long a request stays open before it expires. */
export const REQUEST_LIFETIME_MS = 7 * 86_400_000;
/** After a denial, how long before the person may ask again. */
export const ASK_AGAIN_AFTER_MS = 86_400_000;

/** Admins told of one request, at most. */
export const MAX_ADMINS_TOLD = 20;
export const MAX_REASON_LENGTH = 500;

/** An access request; `expiredInvite`: asked from that invitation's DM, and named to the admins. */
export type AccessRequest = AccessRequestShown;

export type RequestOutcome =
  /** `channel`: the requests channel has it; else `adminsTold` admins have it by DM. */
  | { ok: true; request: AccessRequest; adminsTold: number; channel?: string }
  | (Refused<
      | 'already_member'
      | 'request_open'
      | 'request_denied_recently'
      | 'not_in_workspace'
      | 'guest_needs_personal_invite'
      | 'app_not_installed'
      | 'slack_unavailable'
    > & {
      since?: Date;
      /** When they may ask again, after a denial. */
      until?: Date;
    });

export async function requestAccess(
  services: Services,
  input: { account: Account; slackUserId: string; reason?: string; fromInvite?: string },
): Promise<RequestOutcome> {
  const { account, slackUserId } = input;
  if ((await findMember(services.knex, account.id, slackUserId))?.status === 'active') return refuse('already_member');
  const open = await openRequestOf(services, account.id, slackUserId);
  if (open) return { ...refuse('request_open'), since: open.since };
  const until = await deniedUntil(services, account.id, slackUserId);
  if (until) return { ...refuse('request_denied_recently'), until };
  // Slack's word on who asks: people of the workspace (its org, for an org-wide install); guests
  // may ask, and the admins are told they are guests.
  const may = await mayJoinNow(services.directory, account, slackUserId, 'personal_invite');
  if (!may.ok) return may;
  const { person } = may;
  const reason = input.reason?.trim().slice(0, MAX_REASON_LENGTH) || null;
  const expired = input.fromInvite
    ? await expiredInviteOf(services, account, slackUserId, input.fromInvite)
    : undefined;
  // The partial unique index makes two asks at once one request.
  const { rows } = (await services.knex.raw(
    `INSERT INTO access_requests (account_id, slack_user_id, reason, guest, created_at, invite_id)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (account_id, slack_user_id) WHERE status = 'open' DO NOTHING
     RETURNING id`,
    [account.id, slackUserId, reason, person.guest, services.now(), expired?.id ?? null],
  )) as { rows: Array<{ id: number | string }> };
  const row = rows[0];
  if (!row) return refuse('request_open');
  const request: AccessRequest = {
    id: Number(row.id),
    slackUserId,
    reason,
    guest: person.guest,
    ...(expired ? { expiredInvite: { createdBy: expired.createdBy, expiresAt: expired.expiresAt } } : {}),
  };
  await services.jobs.later(
    services.knex,
    JOB.accessRequestExpiry,
    { requestId: request.id },
    new Date(services.now().getTime() + REQUEST_LIFETIME_MS),
  );
  // The requests channel has it when there is one and the app can post there; else the admins' DMs.
  const channel = await requestsChannelOf(services, account.id);
  if (channel) {
    const posted = await services.notifier.post(account, channel, { kind: 'access_request', request });
    if (posted.ok) {
      await keepCopy(services, request.id, posted.at);
      return { ok: true, request, adminsTold: 0, channel };
    }
  }
  const adminsTold = await tellAdmins(services, account, request);
  return { ok: true, request, adminsTold };
}

/** The person's own invitation that expired, when they asked from its DM; else nothing is named. */
async function expiredInviteOf(services: Services, account: Account, slackUserId: string, inviteId: string) {
  const found = await services.invites.inspectById(inviteId);
  const invite = found.ok ? found.invite : found.details?.invite;
  if (!invite || invite.accountId !== account.id || invite.forSlackUserId !== slackUserId) return undefined;
  return inviteState(invite, services.now()) === 'expired' ? invite : undefined;
}

/** Each admin who can act (at most MAX_ADMINS_TOLD) gets a copy; each copy is kept. */
async function tellAdmins(services: Services, account: Account, request: AccessRequest) {
  const admins = await services.members.activeAdmins(account.id, MAX_ADMINS_TOLD);
  let told = 0;
  for (const admin of admins) {
    const delivery = await services.notifier.tell(account, admin, { kind: 'access_request', request });
    if (!delivery.ok) continue;
    told += 1;
    await keepCopy(services, request.id, delivery.at);
  }
  return told;
}

/** Where a copy of the request is, to change it in place once decided. */
async function keepCopy(services: Services, requestId: number, at: SentAt | undefined) {
  if (!at) return;
  await services
    .knex('access_request_copies')
    .insert({ request_id: requestId, channel: at.channel, ts: at.ts })
    .onConflict(['request_id', 'channel', 'ts'])
    .ignore();
}

/** After a denial less than ASK_AGAIN_AFTER_MS ago: when the person may ask again. */
export async function deniedUntil(
  services: Services,
  accountId: number,
  slackUserId: string,
): Promise<Date | undefined> {
  const denied = await services
    .knex('access_requests')
    .where({ account_id: accountId, slack_user_id: slackUserId, status: 'denied' })
    .where('decided_at', '>', new Date(services.now().getTime() - ASK_AGAIN_AFTER_MS))
    .orderBy('decided_at', 'desc')
    .first('decided_at');
  return denied ? new Date(new Date(denied.decided_at).getTime() + ASK_AGAIN_AFTER_MS) : undefined;
}

/** The person's open request, if they have one (for whoami and the Home tab). */
export async function openRequestOf(
  services: Services,
  accountId: number,
  slackUserId: string,
): Promise<{ since: Date } | undefined> {
  const open = await services
    .knex('access_requests')
    .where({ account_id: accountId, slack_user_id: slackUserId, status: 'open' })
    .first('created_at');
  return open ? { since: new Date(open.created_at) } : undefined;
}
