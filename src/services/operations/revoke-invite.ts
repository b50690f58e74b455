// Stop a registration link from working (`/chatbees-users revoke`, the console's Revoke button).
import { recordAudit } from '../audit-log.js';
import { lockAsAdmin } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import { type LinkRefusal, refusalFor } from '../invites.js';
import { JOB } from '../jobs.js';
import { toInvite } from '../rows.js';
import { type Actor, type Invite, type Result, refuse } from '../types.js';

export type RevokeOutcome = Result<{ invite: Invite }, 'not_member' | 'not_admin' | LinkRefusal>;

/** Stops a link from working at once. Revoking a dead invite is refused with its state. */
export async function revokeInvite(
  services: Services,
  actor: Actor,
  input: { inviteId: string },
): Promise<RevokeOutcome> {
  const { inviteId } = input;
  return inTransaction(services.knex, async (trx) => {
    const admin = await lockAsAdmin(trx, actor);
    if (!admin.ok) return admin;
    const row = await trx('invites').where({ id: inviteId, account_id: actor.accountId }).first();
    if (!row) return refuse('invite_unknown');
    const now = services.now();
    const refusal = refusalFor(toInvite(row), now);
    if (refusal) return refusal;
    const [updated] = await trx('invites')
      .where({ id: inviteId })
      .update({ revoked_at: now, revoked_by: actor.slackUserId, revoke_reason: 'revoked' })
      .returning('*');
    await services.jobs.later(trx, JOB.invitationDm, { inviteId });
    await recordAudit(trx, {
      accountId: actor.accountId,
      actor: actor.slackUserId,
      action: 'invite.revoked',
      source: actor.source,
      targetSlackUserId: (row.for_slack_user_id as string | null) ?? null,
      targetInviteId: inviteId,
      before: { state: 'pending' },
      after: { state: 'revoked' },
      at: now,
    });
    return { ok: true, invite: toInvite(updated) };
  });
}
