// Ask for access (`/chatbees-users request [reason]`): a person of the workspace who is not a
// member asks, and the account's admins who can act get the request by DM, with Approve and Deny.

import { findMember } from '../checks.js';
import type { Services } from '../index.js';
import { JOB } from '../jobs.js';
import { mayJoinNow } from '../people.js';
import type { Account, Refused } from '../types.js';
import { refuse } from '../types.js';

/** How long a request stays open before it expires. */
export const REQUEST_LIFETIME_MS = 7 * 86_400_000;
/** After a denial, how long before the person may ask again. */
export const ASK_AGAIN_AFTER_MS = 86_400_000;

/** Admins told of one request, at most. */
export const MAX_ADMINS_TOLD = 20;
export const MAX_REASON_LENGTH = 500;

export interface AccessRequest {
  id: number;
  slackUserId: string;
  reason: string | null;
  guest: boolean;
}

export type RequestOutcome =
  | { ok: true; request: AccessRequest; adminsTold: number }
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
  input: { account: Account; slackUserId: string; reason?: string },
): Promise<RequestOutcome> {
  const { account, slackUserId } = input;
  if ((await findMember(services.knex, account.id, slackUserId))?.status === 'active') return refuse('already_member');
  const open = await services
    .knex('access_requests')
    .where({ account_id: account.id, slack_user_id: slackUserId, status: 'open' })
    .first('created_at');
  if (open) return { ...refuse('request_open'), since: new Date(open.created_at) };
  const denied = await services
    .knex('access_requests')
    .where({ account_id: account.id, slack_user_id: slackUserId, status: 'denied' })
    .where('decided_at', '>', new Date(services.now().getTime() - ASK_AGAIN_AFTER_MS))
    .orderBy('decided_at', 'desc')
    .first('decided_at');
  if (denied) {
    const until = new Date(new Date(denied.decided_at).getTime() + ASK_AGAIN_AFTER_MS);
    return { ...refuse('request_denied_recently'), until };
  }
  // Slack's word on who asks: people of the workspace (its org, for an org-wide install); guests
  // may ask, and the admins are told they are guests.
  const may = await mayJoinNow(services.directory, account, slackUserId, 'personal_invite');
  if (!may.ok) return may;
  const { person } = may;
  const reason = input.reason?.trim().slice(0, MAX_REASON_LENGTH) || null;
  // The partial unique index makes two asks at once one request.
  const { rows } = (await services.knex.raw(
    `INSERT INTO access_requests (account_id, slack_user_id, reason, guest, created_at)
     VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (account_id, slack_user_id) WHERE status = 'open' DO NOTHING
     RETURNING id`,
    [account.id, slackUserId, reason, person.guest, services.now()],
  )) as { rows: Array<{ id: number | string }> };
  const row = rows[0];
  if (!row) return refuse('request_open');
  const request = { id: Number(row.id), slackUserId, reason, guest: person.guest };
  await services.jobs.later(
    services.knex,
    JOB.accessRequestExpiry,
    { requestId: request.id },
    new Date(services.now().getTime() + REQUEST_LIFETIME_MS),
  );
  const adminsTold = await tellAdmins(services, account, request);
  return { ok: true, request, adminsTold };
}

/** Each admin who can act (at most MAX_ADMINS_TOLD) gets a copy; each copy is kept. */
async function tellAdmins(services: Services, account: Account, request: AccessRequest) {
  const admins = await services.members.activeAdmins(account.id, MAX_ADMINS_TOLD);
  let told = 0;
  for (const admin of admins) {
    const delivery = await services.notifier.tell(account, admin, { kind: 'access_request', request });
    if (!delivery.ok) continue;
    told += 1;
    if (delivery.at) {
      await services
        .knex('access_request_copies')
        .insert({ request_id: request.id, channel: delivery.at.channel, ts: delivery.at.ts })
        .onConflict(['request_id', 'channel', 'ts'])
        .ignore();
    }
  }
  return told;
}
