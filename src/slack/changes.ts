// The changes an admin makes from the command, the console and the Home tab: each is one
// operation and one renderer, so it reads the same wherever it was made.
import type { Services } from '../services/index.js';
import { changeRole } from '../services/operations/change-role.js';
import { removeMember } from '../services/operations/remove-member.js';
import { revokeInvite } from '../services/operations/revoke-invite.js';
import type { Account, Actor, Role } from '../services/types.js';
import * as outcomes from './blocks/outcomes.js';

export async function roleChange(
  services: Services,
  who: Actor,
  input: { user: string; role: Role },
): Promise<outcomes.Said> {
  return outcomes.roleChange(input, await changeRole(services, who, input));
}

export async function removal(
  services: Services,
  who: Actor,
  account: Account,
  input: { user: string },
): Promise<outcomes.Said> {
  return outcomes.removal(account, input, await removeMember(services, who, input));
}

export async function revocation(services: Services, who: Actor, input: { inviteId: string }): Promise<outcomes.Said> {
  return outcomes.revocation(await revokeInvite(services, who, input));
}
