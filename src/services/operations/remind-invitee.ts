// Remind an invited person before their link expires (a job, INVITE_REMINDER_BEFORE ahead):
// one DM, only while the invitation is still pending, never twice — the reminder is claimed in
// the database before the DM goes, so two processes, or a job run again, send it once.
import { usableInvite } from '../checks.js';
import type { Services } from '../index.js';
import { linkAuthority } from '../invites.js';
import type { Delivery } from '../notifier.js';
import { toAccount, toInvite } from '../rows.js';

export type ReminderOutcome =
  | { sent: false; why: 'not_pending' | 'already_reminded' }
  /** Slack is rate-limiting: the claim is given back, to try again after `retryAfterSeconds`. */
  | { sent: false; why: 'rate_limited'; retryAfterSeconds: number }
  | { sent: true; told: Delivery };

export async function remindInvitee(services: Services, input: { inviteId: string }): Promise<ReminderOutcome> {
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
  const claimed = await services.knex('invites').where({ id: input.inviteId }).first();
  const invite = toInvite(claimed);
  const account = toAccount(await services.knex('accounts').where({ id: invite.accountId }).first());
  // A link its admin can no longer vouch for (deactivated in Slack, kept as the last admin) is
  // refused when used: no reminder to use it.
  if (await linkAuthority(services.knex, invite, account, services.settings.multiWorkspace)) {
    return { sent: false, why: 'not_pending' };
  }
  const url = services.links.url(await services.links.sign(invite));
  const told = await services.notifier.tell(account, invite.forSlackUserId as string, {
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
