// Remind an invited person before their link expires (a job, INVITE_REMINDER_BEFORE ahead):
// one DM, only while the invitation is still pending, never twice — the reminder is claimed in
// the database before the DM goes, so two processes, or a job run again, send it once.
import { usableInvite } from '../checks.js';
import type { Services } from '../index.js';
import type { Delivery } from '../notifier.js';

export type ReminderOutcome =
  | { sent: false; why: 'not_pending' | 'already_reminded' }
  /** Slack is rate-limiting: the claim is given back, to try again after `retryAfterSeconds`. */
  | { sent: false; why: 'rate_limited'; retryAfterSeconds: number }
  | { sent: true; told: Delivery };

export async function remindInvitee(services: Services, input: { inviteId: string }): Promise<ReminderOutcome> {
  // Only a link that would work now: its own state and the authority behind it (an admin
  // deactivated in Slack but kept as the last one cannot vouch for it meanwhile).
  const inspected = await services.invites.inspectById(input.inviteId);
  if (!inspected.ok || !inspected.invite.forSlackUserId) return { sent: false, why: 'not_pending' };
  const { invite, account } = inspected;
  const invitee = inspected.invite.forSlackUserId;
  const now = services.now();
  // The claim: one statement, so two processes (or a job run again) cannot both take it.
  const { rows } = (await services.knex.raw(
    `INSERT INTO invitation_dms (invite_id, reminded_at)
     SELECT i.id, ? FROM invites i
     WHERE i.id = ? AND i.for_slack_user_id IS NOT NULL AND ${usableInvite('i', '?')}
       -- Not someone who joined another way meanwhile.
       AND NOT EXISTS (SELECT 1 FROM members m WHERE m.account_id = i.account_id
                         AND m.slack_user_id = i.for_slack_user_id AND m.status = 'active')
     ON CONFLICT (invite_id) DO UPDATE SET reminded_at = EXCLUDED.reminded_at
       WHERE invitation_dms.reminded_at IS NULL
     RETURNING invite_id`,
    [now, input.inviteId, now],
  )) as { rows: Array<{ invite_id: string }> };
  if (rows.length === 0) {
    const dm = await services.knex('invitation_dms').where({ invite_id: input.inviteId }).first('reminded_at');
    return { sent: false, why: dm?.reminded_at ? 'already_reminded' : 'not_pending' };
  }
  const url = services.links.url(await services.links.sign(invite));
  const told = await services.notifier.tell(account, invitee, {
    kind: 'invitation_reminder',
    invite,
    url,
  });
  if (told.ok && told.at) {
    // Kept current with the invitation, like the invitation's own DM.
    await services
      .knex('invitation_dms')
      .where({ invite_id: invite.id })
      .update({ reminder_channel: told.at.channel, reminder_ts: told.at.ts });
  }
  if (!told.ok && told.retryAfterSeconds !== undefined) {
    await services.knex('invitation_dms').where({ invite_id: invite.id }).update({ reminded_at: null });
    return { sent: false, why: 'rate_limited', retryAfterSeconds: told.retryAfterSeconds };
  }
  return { sent: true, told };
}
