// Whom someone who is not (or no longer) a member should ask (and whether they asked already),
// and the warning shown while the account has no AccountAdmin who can act.
import { withDeadline } from '../deadline.js';
import { deniedUntil, openRequestOf } from '../services/operations/request-access.js';
import { type Asking, noUsableAdmin } from './blocks/messages.js';
import type { RequestActor, SlackDeps } from './context.js';

/** The warning shown with someone's role while the account has no AccountAdmin who can act. */
export function accountWarning(deps: SlackDeps, actor: RequestActor): string | undefined {
  return actor.noUsableAdmin ? noUsableAdmin(deps.newAdminHint) : undefined;
}

/** How many AccountAdmins a person is told they can ask. */
export const ADMINS_TO_ASK = 5;

/**
 * For a non-member, within `deadlineMs`: whom to ask for an invite, and their access request
 * when one is open. Nothing for members.
 */
export async function asking(deps: SlackDeps, actor: RequestActor, deadlineMs: number): Promise<Asking> {
  if (actor.role) return { admins: [] };
  const [admins, openRequest, askAgainFrom] = await withDeadline(
    Promise.all([
      deps.services.members.activeAdmins(actor.account.id, ADMINS_TO_ASK),
      openRequestOf(deps.services, actor.account.id, actor.slackUserId),
      deniedUntil(deps.services, actor.account.id, actor.slackUserId),
    ]),
    deadlineMs,
  );
  return { admins, ...(openRequest ? { openRequest } : {}), ...(askAgainFrom ? { askAgainFrom } : {}) };
}
