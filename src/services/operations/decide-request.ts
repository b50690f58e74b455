// Approve or deny an access request (an admin's press on any copy of it). The first decision
// wins, in any process: one UPDATE … WHERE status = 'open' takes it; every later press is told who
// decided. Approving registers the person as an AccountUser in the same transaction, audited.
import { recordAudit } from '../audit-log.js';
import { authorizeAdmin, findMember, lockAsAdmin } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import { makeMember } from '../membership.js';
import type { SentAt } from '../notifier.js';
import { mayJoinNow } from '../people.js';
import type { Account, Actor, Refused } from '../types.js';
import { refuse } from '../types.js';
import { MAX_REASON_LENGTH } from './request-access.js';

export type Decision = 'approved' | 'denied';

export type DecideOutcome =
  | { ok: true; decision: Decision; requester: string; copies: SentAt[]; account: Account }
  | (Refused<
      | 'not_member'
      | 'not_admin'
      | 'request_unknown'
      | 'request_decided'
      | 'not_in_workspace'
      | 'guest_needs_personal_invite'
      | 'app_not_installed'
      | 'slack_unavailable'
    > & {
      decided?: { decision: string; by: string | null };
    });

export async function decideRequest(
  services: Services,
  actor: Actor,
  input: { requestId: number; decision: Decision; reason?: string },
): Promise<DecideOutcome> {
  const reason = input.decision === 'denied' ? input.reason?.trim().slice(0, MAX_REASON_LENGTH) || null : null;
  if (input.decision === 'approved') {
    // Slack's word at the moment of approval, as for a link: the person must still be one of the
    // workspace. Asked before the transaction: no lock is held while Slack answers.
    const refused = await stillInWorkspace(services, actor, input.requestId);
    if (refused) return refused;
  }
  const done = await inTransaction(services.knex, async (trx): Promise<DecideOutcome> => {
    const admin = await lockAsAdmin(trx, actor);
    if (!admin.ok) return admin;
    const now = services.now();
    const [taken] = await trx('access_requests')
      .where({ id: input.requestId, account_id: actor.accountId, status: 'open' })
      .update({ status: input.decision, decided_by: actor.slackUserId, decided_at: now, deny_reason: reason })
      .returning('*');
    if (!taken) {
      const row = await trx('access_requests').where({ id: input.requestId, account_id: actor.accountId }).first();
      if (!row) return refuse('request_unknown');
      return { ...refuse('request_decided'), decided: { decision: row.status, by: row.decided_by } };
    }
    const requester = taken.slack_user_id as string;
    if (input.decision === 'approved') {
      const before = await findMember(trx, actor.accountId, requester);
      if (before?.status !== 'active') {
        await makeMember(
          trx,
          actor.accountId,
          requester,
          { role: 'AccountUser', invitedBy: actor.slackUserId, inviteId: null },
          { displayName: before?.displayName ?? null, email: before?.email ?? null },
          now,
        );
      }
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'member.registered',
        source: actor.source,
        targetSlackUserId: requester,
        before: before ? { status: before.status, role: before.role } : null,
        after: { status: 'active', role: 'AccountUser', invitedBy: actor.slackUserId, accessRequest: taken.id },
        at: now,
      });
    } else {
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'access.denied',
        source: actor.source,
        targetSlackUserId: requester,
        before: { request: Number(taken.id) },
        after: { status: 'denied', ...(reason ? { reason } : {}) },
        at: now,
      });
    }
    const copies = (await trx('access_request_copies').where({ request_id: taken.id })) as SentAt[];
    return { ok: true, decision: input.decision, requester, copies, account: admin.account };
  });
  if (!done.ok) return done;
  // Only the decision that won tells anyone: the requester once, and every copy in place.
  const { account, requester, decision, copies } = done;
  await services.notifier.tell(account, requester, { kind: 'access_decided', decision, by: actor.slackUserId, reason });
  for (const at of copies) {
    await services.notifier.update(account, at, {
      kind: 'access_request_decided',
      requester,
      decision,
      by: actor.slackUserId,
      reason,
    });
  }
  return done;
}

/**
 * A request as it stands, before an admin decides it with a form (Deny's reason): open, or
 * decided already and by whom. The decision itself is still taken by `decideRequest`.
 */
export async function requestStanding(
  services: Services,
  actor: Actor,
  requestId: number,
): Promise<
  | { ok: true; requester: string }
  | (Refused<'not_member' | 'not_admin' | 'request_unknown' | 'request_decided'> & {
      decided?: { decision: string; by: string | null };
    })
> {
  const admin = await authorizeAdmin(services.knex, actor);
  if (!admin.ok) return admin;
  const row = await services.knex('access_requests').where({ id: requestId, account_id: actor.accountId }).first();
  if (!row) return refuse('request_unknown');
  if (row.status !== 'open')
    return { ...refuse('request_decided'), decided: { decision: row.status, by: row.decided_by } };
  return { ok: true, requester: row.slack_user_id as string };
}

async function stillInWorkspace(
  services: Services,
  actor: Actor,
  requestId: number,
): Promise<
  Refused<'not_in_workspace' | 'guest_needs_personal_invite' | 'app_not_installed' | 'slack_unavailable'> | undefined
> {
  const row = await services.knex('access_requests').where({ id: requestId, account_id: actor.accountId }).first();
  const account = row && (await services.accounts.get(actor.accountId));
  if (!row || !account || row.status !== 'open') return undefined; // the transaction says why
  const may = await mayJoinNow(services.directory, account, row.slack_user_id as string, 'personal_invite');
  return may.ok ? undefined : may;
}
