// From an expired invitation's DM: the invited person asks the admin who invited them for a new
// one (Ask for a new invitation), and that admin sends it with one press (Invite again). The old
// link stays dead; the new one is an ordinary invitation, with every rule of invite-people.
import { canAdminister, findMember } from '../checks.js';
import type { Services } from '../index.js';
import { inviteState } from '../invites.js';
import type { Delivery } from '../notifier.js';
import { type Actor, type Refused, refuse } from '../types.js';
import { type InviteOutcome, invitePeople } from './invite-people.js';

/** The invitation and its account, whatever its state (Ask again is about an expired one). */
async function inviteAndAccount(services: Services, inviteId: string) {
  const found = await services.invites.inspectById(inviteId);
  return found.ok ? found : found.details;
}

export type AskAgainOutcome =
  | { ok: true; admin: string; told: Delivery }
  | Refused<'wrong_person' | 'invite_unknown' | 'already_member' | 'inviter_cannot_invite' | 'invite_used'>;

/**
 * The invited person (Slack says who pressed) asks the admin who invited them for a new
 * invitation: that admin gets one DM with an Invite again button. Asked once per invitation
 * (`invite_used` when asked already).
 */
export async function askAgain(
  services: Services,
  input: { inviteId: string; pressedBy: string },
): Promise<AskAgainOutcome> {
  const found = await inviteAndAccount(services, input.inviteId);
  if (!found || inviteState(found.invite, services.now()) !== 'expired') return refuse('invite_unknown');
  const { invite, account } = found;
  if (invite.forSlackUserId !== input.pressedBy) return refuse('wrong_person');
  const member = await findMember(services.knex, account.id, input.pressedBy);
  if (member?.status === 'active') return refuse('already_member');
  if (!(await canAdminister(services.knex, account.id, invite.createdBy))) return refuse('inviter_cannot_invite');
  // Once per invitation, whoever presses again and in whichever process.
  const [claimed] = await services
    .knex('invitation_dms')
    .insert({ invite_id: invite.id, asked_at: services.now() })
    .onConflict('invite_id')
    .merge(['asked_at'])
    .whereNull('invitation_dms.asked_at')
    .returning('invite_id');
  if (!claimed) return refuse('invite_used');
  const told = await services.notifier.tell(account, invite.createdBy, { kind: 'asked_again', invite });
  return { ok: true, admin: invite.createdBy, told };
}

/**
 * The admin's answer (Invite again): a new personal invitation of the same person, as
 * `/chatbees-users invite` makes it — the admin's role is checked, caps and Slack's word apply.
 * Once: when the person was invited again since (by anyone), `invite_used`.
 */
export async function inviteAgain(
  services: Services,
  actor: Actor,
  input: { inviteId: string },
): Promise<InviteOutcome | Refused<'invite_unknown' | 'invite_used'>> {
  const found = await inviteAndAccount(services, input.inviteId);
  const invite = found?.invite;
  if (!invite?.forSlackUserId || invite.accountId !== actor.accountId) return refuse('invite_unknown');
  const newer = await services
    .knex('invites')
    .where({ account_id: invite.accountId, for_slack_user_id: invite.forSlackUserId })
    .where('created_at', '>', invite.createdAt)
    .first('id');
  if (newer || !(await services.requests.claim(`invite-again:${invite.id}`))) return refuse('invite_used');
  const [outcome] = await invitePeople(services, actor, { users: [invite.forSlackUserId] });
  return outcome as InviteOutcome;
}
