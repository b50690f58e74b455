// Reads a request may start together with the permission middleware's who-asks read, where they
// would wait for it: a search's page (`list`/`find` with a text or a role, the console's Search),
// sent on a second connection in the same turn of the event loop, so the two round trips to the
// database overlap instead of following one another. Only reads whose statement checks who asks
// itself (the service's own admin check, in the same statement): for anyone else it reads no
// member or invite and answers with a refusal. The middleware still decides first; when it
// refuses, the read's answer is dropped unseen. Listeners take a read from here when there is
// one, else read.
import type { Services } from '../services/index.js';
import { listInvites } from '../services/operations/list-invites.js';
import { listMembers } from '../services/operations/list-members.js';
import type { Actor } from '../services/types.js';
import { CONSOLE_INVITES_SHOWN, CONSOLE_PAGE_SIZE, type ConsolePage, searchTyped } from './blocks/console.js';
import { type Command, searchFilter } from './command/parse.js';
import { FORMS } from './operations.js';

/** `list` and `find` show this many members a page. */
export const LIST_PAGE_SIZE = 25;

type MemberPageResult = Awaited<ReturnType<typeof listMembers>>;
type InvitesResult = Awaited<ReturnType<typeof listInvites>>;
export type ConsoleReads = [MemberPageResult, InvitesResult];

/** The page `list` or `find` shows. */
export function commandPage(services: Services, who: Actor, command: Extract<Command, { kind: 'list' | 'find' }>) {
  return listMembers(services, who, { limit: LIST_PAGE_SIZE, page: command.page, filter: command.filter ?? null });
}

/** The console's two reads at once: the page, and the invites with the count of open requests. */
export function consoleReads(services: Services, who: Actor, shown: ConsolePage): Promise<ConsoleReads> {
  const filter = shown.filter ?? null;
  const request = shown.after
    ? { limit: CONSOLE_PAGE_SIZE, after: shown.after, filter }
    : shown.before
      ? { limit: CONSOLE_PAGE_SIZE, before: shown.before, filter }
      : { limit: CONSOLE_PAGE_SIZE, filter };
  return Promise.all([
    listMembers(services, who, request),
    listInvites(services, who, { limit: CONSOLE_INVITES_SHOWN, openRequests: true }),
  ]);
}

/** What the console's Search asks for: the box's text as a filter (none: everyone). */
export function searchedConsole(
  values: Record<string, Record<string, { value?: string | null }>> | undefined,
): ConsolePage {
  const filter = searchFilter(searchTyped(values));
  return filter ? { filter } : {};
}

/** A read started ahead, for the listener of the request it was started for. */
export type ReadAhead =
  | { kind: 'command_page'; page: Promise<MemberPageResult> }
  | { kind: 'console_search'; reads: Promise<ConsoleReads> };

type Body = {
  command?: string;
  type?: string;
  view?: { callback_id?: string; state?: { values?: Record<string, Record<string, { value?: string | null }>> } };
};

/**
 * Starts the read a search will need, if the request is one: a `list`/`find` with a filter, or
 * the console's Search. A list without a filter is left to its listener (its first page is one
 * cheap statement, coalesced with the others of its turn).
 */
export function startReadAhead(
  services: Services,
  body: Body,
  command: Command | undefined,
  account: { id: number },
  slackUserId: string,
): ReadAhead | undefined {
  const who = (source: Actor['source']): Actor => ({ accountId: account.id, slackUserId, source });
  if (command && (command.kind === 'list' || command.kind === 'find') && command.filter) {
    const page = commandPage(services, who('slash_command'), command);
    page.catch(() => {});
    return { kind: 'command_page', page };
  }
  if (body.type === 'view_submission' && body.view?.callback_id === FORMS.console) {
    const reads = consoleReads(services, who('console'), searchedConsole(body.view.state?.values));
    reads.catch(() => {});
    return { kind: 'console_search', reads };
  }
  return undefined;
}
