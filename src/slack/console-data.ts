import type { Services } from '../services/index.js';
import { listInvites } from '../services/operations/list-invites.js';
import { listMembers } from '../services/operations/list-members.js';
import { CONSOLE_INVITES_SHOWN, CONSOLE_PAGE_SIZE, type ConsoleData, type ConsolePage } from './blocks/console.js';
import { type RequestActor, serviceActor } from './context.js';

/** Everything the console shows, read for an admin; undefined when they are no longer one. */
export async function loadConsole(
  services: Services,
  actor: RequestActor,
  shown: ConsolePage,
  notice?: string,
): Promise<ConsoleData | undefined> {
  const who = serviceActor(actor, 'console');
  const filter = shown.filter ?? null;
  const request = shown.after
    ? { limit: CONSOLE_PAGE_SIZE, after: shown.after, filter }
    : shown.before
      ? { limit: CONSOLE_PAGE_SIZE, before: shown.before, filter }
      : { limit: CONSOLE_PAGE_SIZE, filter };
  // Two reads at once: the page, and the invites with the count of open requests.
  const [page, invites] = await Promise.all([
    listMembers(services, who, request),
    listInvites(services, who, { limit: CONSOLE_INVITES_SHOWN, openRequests: true }),
  ]);
  if (!page.ok || !invites.ok || !actor.member) return undefined;
  return {
    account: actor.account,
    viewer: actor.member,
    page,
    invites: invites.invites,
    moreInvites: invites.next,
    openRequests: invites.openRequests ?? 0,
    shown,
    notice,
  };
}
