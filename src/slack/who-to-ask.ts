// Whom someone who is not (or no longer) a member should ask, and the warning shown while the
// account has no AccountAdmin who can act.
import { withDeadline } from '../deadline.js';
import { noUsableAdmin } from './blocks/messages.js';
import type { RequestActor, SlackDeps } from './context.js';

/** The warning shown with someone's role while the account has no AccountAdmin who can act. */
export function accountWarning(deps: SlackDeps, actor: RequestActor): string | undefined {
  return actor.noUsableAdmin ? noUsableAdmin(deps.newAdminHint) : undefined;
}

/** How many AccountAdmins a person is told they can ask. */
export const ADMINS_TO_ASK = 5;

/** Whom a non-member should ask for an invite (none for members), within `deadlineMs`. */
export async function adminsToAsk(deps: SlackDeps, actor: RequestActor, deadlineMs: number): Promise<string[]> {
  if (actor.role) return [];
  return withDeadline(deps.services.members.activeAdmins(actor.account.id, ADMINS_TO_ASK), deadlineMs);
}
