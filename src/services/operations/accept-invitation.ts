// Accept an invitation from its DM (the Accept button): Slack says who pressed it, so no web
// page, no sign-in. Everything a link's page checks applies: single use, expiry, revocation, the
// authority behind it, and the person's standing in Slack.
import { findMember } from '../checks.js';
import type { Services } from '../index.js';
import { type RegisterOutcome, register, type VerifiedIdentity } from './register.js';

/**
 * Registers the person who pressed Accept, if the invite is theirs. A press by anyone else (a
 * forwarded message) is refused and audited; a press by someone who joined already (through this
 * invite: it is used up) says they are a member and changes nothing.
 */
export async function acceptInvitation(
  services: Services,
  input: { inviteId: string; pressedBy: VerifiedIdentity },
): Promise<RegisterOutcome> {
  const outcome = await register(
    services,
    { inviteId: input.inviteId },
    { identity: input.pressedBy, source: 'invitation_dm' },
  );
  if (outcome.ok || outcome.reason !== 'invite_used' || !outcome.details) return outcome;
  const { account, invite } = outcome.details;
  const member = await findMember(services.knex, account.id, input.pressedBy.slackUserId);
  if (member?.status !== 'active' || invite.forSlackUserId !== member.slackUserId) return outcome;
  return { ok: true, member, account, invite, alreadyMember: true };
}
