// Change a member's role (`/chatbees-users role`, the console's role buttons).
import { recordAudit } from '../audit-log.js';
import { findMember, isLastAdmin, lockAsAdmin } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import { endInvites } from '../membership.js';
import type { Delivery } from '../notifier.js';
import { toMember } from '../rows.js';
import { type Actor, type Member, type Result, type Role, refuse } from '../types.js';

export type ChangeRoleOutcome = Result<
  | { changed: false; member: Member }
  /** `revokedInvites`: the links a demoted admin made, which stopped working; `told`: their DM. */
  | { changed: true; member: Member; revokedInvites: number; told: Delivery },
  'not_member' | 'not_admin' | 'unknown_member' | 'last_admin'
>;

/**
 * Makes a member an AccountAdmin or AccountUser and tells them. No change leaves the account
 * without an admin who can act. A demoted admin's links stop working: they carried an authority
 * the admin no longer has.
 */
export async function changeRole(
  services: Services,
  actor: Actor,
  input: { user: string; role: Role },
): Promise<ChangeRoleOutcome> {
  const { role } = input;
  const done = await inTransaction(services.knex, async (trx) => {
    const admin = await lockAsAdmin(trx, actor);
    if (!admin.ok) return admin;
    const target = await findMember(trx, actor.accountId, input.user);
    if (target?.status !== 'active') return refuse('unknown_member');
    if (target.role === role) return { ok: true as const, changed: false as const, member: target };
    if (await isLastAdmin(trx, target)) {
      return refuse('last_admin');
    }
    const now = services.now();
    // A demoted admin kept because Slack deactivated them is an ordinary member again.
    const [row] = await trx('members')
      .where({ id: target.id })
      .update({ role, updated_at: now, ...(role === 'AccountUser' ? { slack_deactivated_at: null } : {}) })
      .returning('*');
    const revoked =
      role === 'AccountUser'
        ? await endInvites(trx, actor.accountId, { createdBy: target.slackUserId }, 'inviter_demoted', {
            actor: actor.slackUserId,
            at: now,
            jobs: services.jobs,
          })
        : [];
    await recordAudit(trx, {
      accountId: actor.accountId,
      actor: actor.slackUserId,
      action: 'member.role_changed',
      source: actor.source,
      targetSlackUserId: target.slackUserId,
      before: { role: target.role },
      after: { role, ...(revoked.length ? { revokedInvites: revoked } : {}) },
      at: now,
    });
    return {
      ok: true as const,
      changed: true as const,
      member: toMember(row),
      revokedInvites: revoked.length,
      account: admin.account,
    };
  });
  if (!done.ok || !done.changed) return done;
  const { account, ...changed } = done;
  const told = await services.notifier.tell(account, input.user, {
    kind: 'role_changed',
    by: actor.slackUserId,
    role,
    revokedInvites: changed.revokedInvites,
  });
  return { ...changed, told };
}
