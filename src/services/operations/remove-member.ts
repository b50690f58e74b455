// Remove someone from the account (`/chatbees-users remove`, the console's Remove button).
import { findMember, isLastAdmin, lockAsAdmin } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import { removeMember as softDelete } from '../membership.js';
import type { Delivery } from '../notifier.js';
import { toMember } from '../rows.js';
import { type Actor, type Member, type Result, refuse } from '../types.js';

export type RemoveOutcome = Result<
  /** `revokedInvites`: links they made; `invitesForThem`: invites still addressed to them; `told`: their DM. */
  { member: Member; revokedInvites: number; invitesForThem: number; told: Delivery },
  'not_member' | 'not_admin' | 'unknown_member' | 'last_admin'
>;

/**
 * Soft-deletes a member and tells them: access ends now, history stays, the invites they created
 * stop working (a removed admin must not get people in through an earlier link), and so does any
 * invite still addressed to them (they must not come back through it).
 */
export async function removeMember(services: Services, actor: Actor, input: { user: string }): Promise<RemoveOutcome> {
  const done = await inTransaction(services.knex, async (trx) => {
    const admin = await lockAsAdmin(trx, actor);
    if (!admin.ok) return admin;
    const target = await findMember(trx, actor.accountId, input.user);
    if (target?.status !== 'active') return refuse('unknown_member');
    if (await isLastAdmin(trx, target)) {
      return refuse('last_admin');
    }
    const removed = await softDelete(trx, target, {
      actor: actor.slackUserId,
      source: actor.source,
      at: services.now(),
      jobs: services.jobs,
    });
    return {
      ok: true as const,
      account: admin.account,
      member: toMember(removed.row),
      revokedInvites: removed.revokedInvites.length,
      invitesForThem: removed.invitesForThem.length,
    };
  });
  if (!done.ok) return done;
  const { account, ...removed } = done;
  const told = await services.notifier.tell(account, input.user, { kind: 'removed', by: actor.slackUserId });
  return { ...removed, told };
}
