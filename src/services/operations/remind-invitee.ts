// Remind an invited person before their link expires (a job, INVITE_REMINDER_BEFORE ahead):
// one DM, only while the invitation is still pending, never twice — the reminder is claimed in
// the database before the DM goes, so two processes, or a job run again, send it once.
import { usableInvite } from '../checks.js';
import type { Services } from '../index.js';
import type { Delivery } from '../notifier.js';
import { toAccount, toInvite } from '../rows.js';

export type ReminderOutcome =
  | { sent: false; why: 'not_pending' | 'already_reminded' }
  /** Slack is rate-limiting: the claim is given back, to try again after `retryAfterSeconds`. */
  | { sent: false; why: 'rate_limited'; retryAfterSeconds: number }
  | { sent: true; told: Delivery };

export async function remindInvitee(services: Services, input: { inviteId: string }): Promise<ReminderOutcome> {
  const now = services.now();
  const [claimed] = await services
    .knex('invites')
    .where({ id: input.inviteId })
    .whereNotNull('for_slack_user_id')
    .whereNull('reminded_at')
    .whereRaw(usableInvite('invites', '?'), [now])
    .update({ reminded_at: now })
    .returning('*');
  if (!claimed) {
    const row = await services.knex('invites').where({ id: input.inviteId }).first('reminded_at');
    return { sent: false, why: row?.reminded_at ? 'already_reminded' : 'not_pending' };
  }
  const invite = toInvite(claimed);
  const account = toAccount(await services.knex('accounts').where({ id: invite.accountId }).first());
  const url = services.links.url(await services.links.sign(invite));
  const told = await services.notifier.tell(account, invite.forSlackUserId as string, {
    kind: 'invitation_reminder',
    invite,
    url,
  });
  if (!told.ok && told.retryAfterSeconds !== undefined) {
    await services.knex('invites').where({ id: invite.id }).update({ reminded_at: null });
    return { sent: false, why: 'rate_limited', retryAfterSeconds: told.retryAfterSeconds };
  }
  return { sent: true, told };
}
