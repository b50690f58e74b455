import type { Services } from '../services/index.js';
import type { ConsoleData, ConsolePage } from './blocks/console.js';
import { type RequestActor, serviceActor } from './context.js';
import { type ConsoleReads, consoleReads } from './read-ahead.js';

/**
 * Everything the console shows, read for an admin; undefined when they are no longer one.
 * `ahead`: its reads, started with the middleware's who-asks read (read-ahead.ts).
 */
export async function loadConsole(
  services: Services,
  actor: RequestActor,
  shown: ConsolePage,
  notice?: string,
  ahead?: Promise<ConsoleReads>,
): Promise<ConsoleData | undefined> {
  const [page, invites] = await (ahead ?? consoleReads(services, serviceActor(actor, 'console'), shown));
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
