import { parseDuration } from '../../config.js';
import type { Source } from '../../services/people.js';
import { MAX_PAGE, ROLES, type Role } from '../../services/types.js';
import {
  OPERATION,
  OPERATIONS,
  type Operation,
  type SubcommandName,
  subcommandOf,
  subcommandOperation,
} from '../operations.js';

// `/chatbees-users …` text → a command, or a one-line reason it is not one. Never throws.

export const MAX_TEXT_LENGTH = 2500;
export const DEFAULT_AUDIT_ENTRIES = 10;

import { DEFAULT_EXPORT_DAYS, MAX_EXPORT_DAYS } from '../../services/operations/export-data.js';
import { MAX_INVITEES } from '../../services/operations/invite-people.js';
import { MAX_SEARCH_LENGTH, type MemberFilter } from '../../services/operations/list-members.js';
import { MAX_AUDIT_ENTRIES } from '../../services/operations/read-audit.js';
import { MAX_REASON_LENGTH } from '../../services/operations/request-access.js';

export type Command =
  | { kind: 'console' }
  | { kind: 'help' }
  | { kind: 'whoami' }
  /** Members: all, one role's, or those whose name or email contains a text (`find` always searches). */
  | { kind: 'list'; page: number; filter?: MemberFilter }
  | { kind: 'find'; page: number; filter: { text: string } }
  /** A CSV in the admin's DM: every member, or the audit log's last `days`. */
  | { kind: 'export'; what: 'members' }
  | { kind: 'export'; what: 'audit'; days: number }
  /** People by name (at most MAX_INVITEES), and channels and user groups (`sources`), in any mix. */
  | { kind: 'invite'; users: string[]; sources?: Source[] }
  /** A link for anyone (Sign in with Slack); its own lifetime and number of uses when given. */
  | { kind: 'invite_link'; ttlSeconds?: number; maxUses?: number }
  | { kind: 'invites'; page: number }
  | { kind: 'revoke'; inviteId: string }
  | { kind: 'role'; user: string; role: Role }
  | { kind: 'remove'; user: string }
  | { kind: 'audit'; limit: number }
  /** Asking for access, with the person's reason when given. */
  | { kind: 'request'; reason?: string }
  | { kind: 'requests' }
  /** Where access requests go: shown (no channel named), a channel, or back to DMs (null). */
  | { kind: 'requests_channel'; channel?: string | null }
  | { kind: 'unknown'; word: string }
  /** A known subcommand with unusable arguments; `name` still decides who may use it. */
  | { kind: 'invalid'; name: SubcommandName | null; message: string };

export type { SubcommandName } from '../operations.js';

/** Usage lines, from the operations table (and the link for anyone, a form of `invite`). */
export const USAGE = {
  ...(Object.fromEntries(
    OPERATIONS.flatMap((o) => (o.subcommand && o.usage ? [[o.subcommand.name, o.usage]] : [])),
  ) as Record<SubcommandName, string>),
  inviteLink: OPERATION.shareLink.usage as string,
  requestsChannel: OPERATION.requestsChannel.usage as string,
};

// Slack escapes a mention as <@U123|name> (should_escape: true); <@U123> arrives too.
const MENTION = /<@([UW][A-Z0-9]{1,30})(?:\|[^<>]*)?>/g;
const BARE_USER_ID = /^[UW][A-Z0-9]{6,30}$/;
// C0 controls other than tab, newline and carriage return; DEL; C1 controls.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const INVITE_ID = /^[a-z0-9]{6,32}$/;
// Slack escapes a channel as <#C123|name> (the name may be missing or empty); a bare id works too.
const CHANNEL = /^<#([CG][A-Z0-9]{2,30})(?:\|[^<>]*)?>$/;
const BARE_CHANNEL_ID = /^[CG][A-Z0-9]{6,30}$/;
// A user group as Slack escapes it: <!subteam^S123|@handle> (the label may be missing or empty).
const USERGROUP = /^<!subteam\^(S[A-Z0-9]{2,30})(?:\|[^<>]*)?>$/;

type Token = { user: string } | { word: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    for (const word of text.slice(last, match.index).split(/\s+/)) if (word) tokens.push({ word });
    tokens.push({ user: match[1] as string });
    last = (match.index ?? 0) + match[0].length;
  }
  for (const word of text.slice(last).split(/\s+/)) if (word) tokens.push({ word });
  return tokens;
}

function userOf(token: Token | undefined): string | undefined {
  if (!token) return undefined;
  if ('user' in token) return token.user;
  return BARE_USER_ID.test(token.word) ? token.word : undefined;
}

function describe(token: Token): string {
  return 'user' in token ? `<@${token.user}>` : token.word;
}

function invalid(name: SubcommandName | null, message: string): Command {
  return { kind: 'invalid', name, message };
}

/** A channel or user group, as Slack escapes it in a command. */
function sourceOf(word: string): Source | undefined {
  const channel = CHANNEL.exec(word)?.[1];
  if (channel) return { kind: 'channel', id: channel };
  const group = USERGROUP.exec(word)?.[1];
  return group ? { kind: 'usergroup', id: group } : undefined;
}

function notAPerson(name: SubcommandName, token: Token): Command {
  const shown = describe(token).slice(0, 40);
  return invalid(
    name,
    `"${shown}" is not a Slack user I can recognise: pick the person from Slack's @-mention list. Usage: ${USAGE[name]}`,
  );
}

export function parseRole(word: string): Role | undefined {
  const lower = word.toLowerCase();
  if (lower === 'admin' || lower === 'accountadmin') return 'AccountAdmin';
  if (lower === 'user' || lower === 'accountuser') return 'AccountUser';
  return ROLES.find((r) => r === word);
}

function wholeNumber(word: string | undefined, max: number): number | undefined {
  if (word === undefined || !/^\d{1,7}$/.test(word)) return undefined;
  const n = Number(word);
  return n >= 1 && n <= max ? n : undefined;
}

export const MAX_LINK_USES = 10_000;

/** `invite link [for 3d] [uses 20]`: a link for anyone, with its lifetime and uses. */
function linkOptions(rest: Token[]): Command {
  const usage = `Usage: ${USAGE.inviteLink}`;
  const words = rest.map((t) => ('word' in t ? t.word.toLowerCase() : ''));
  const command: { kind: 'invite_link'; ttlSeconds?: number; maxUses?: number } = { kind: 'invite_link' };
  let i = words[0] === 'link' ? 1 : 0;
  while (i < words.length) {
    const [key, value] = [words[i], words[i + 1]];
    if (key === 'for' && command.ttlSeconds === undefined && value && parseDuration(value) !== undefined) {
      command.ttlSeconds = parseDuration(value);
    } else if (key === 'uses' && command.maxUses === undefined && wholeNumber(value, MAX_LINK_USES) !== undefined) {
      command.maxUses = wholeNumber(value, MAX_LINK_USES);
    } else {
      return invalid(
        'invite',
        `Give the link's lifetime as "for 3d" (up to 365d) and its uses as "uses 20" (up to ${MAX_LINK_USES}). ${usage}`,
      );
    }
    i += 2;
  }
  return command;
}

type Parse = (rest: Token[], word: string) => Command;

/**
 * `list [admins|users|<text>] [page N]` and `find <text> [page N]`: what to narrow the members
 * to, and which page. `list 3` is page 3, as it always was; `find` takes any text as a search.
 */
function listing(kind: 'list' | 'find', rest: Token[]): Command {
  const usage = `Usage: ${USAGE[kind]}`;
  if (rest.some((t) => 'user' in t)) {
    return invalid(kind, `Search by name or email rather than by @-mention. ${usage}`);
  }
  // Slack sends &, < and > in a command's text as HTML entities.
  const words = rest.map((t) => unescapeSlack((t as { word: string }).word));
  let page = 1;
  const last = words.length - 1;
  // Only a trailing `page <number>` pages: "find Larry Page" looks for the name.
  if (words[last - 1]?.toLowerCase() === 'page' && /^\d+$/.test(words[last] as string)) {
    const number = wholeNumber(words[last], MAX_PAGE);
    if (!number) return invalid(kind, `Give a page number from 1. ${usage}`);
    page = number;
    words.splice(last - 1, 2);
  } else if (kind === 'list' && words.length === 1 && /^\d+$/.test(words[0] as string)) {
    const number = wholeNumber(words[0], MAX_PAGE);
    if (!number) return invalid(kind, `Give a page number from 1. ${usage}`);
    return { kind, page: number };
  }
  const text = words.join(' ');
  if (text.length > MAX_SEARCH_LENGTH) {
    return invalid(kind, `Search for at most ${MAX_SEARCH_LENGTH} characters of a name or an email. ${usage}`);
  }
  if (kind === 'find') {
    return text ? { kind, page, filter: { text } } : invalid(kind, `Say what to look for. ${usage}`);
  }
  const filter = searchFilter(text);
  return filter ? { kind, page, filter } : { kind, page };
}

/** What `list`'s words or the console's search box narrow the members to: a role's word, else the text. */
export function searchFilter(typed: string): MemberFilter | null {
  const text = typed.replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_SEARCH_LENGTH);
  if (!text) return null;
  const role = ROLE_WORDS.get(text.toLowerCase());
  return role ? { role } : { text };
}
const CONTROLS = new RegExp(CONTROL.source, 'g');

/** A word as typed: Slack escapes &, < and > in a command's text. */
function unescapeSlack(word: string): string {
  return word.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** `list admins`, `list users`: one role's members (`find admins` looks for the name). */
const ROLE_WORDS = new Map<string, Role>([
  ['admins', 'AccountAdmin'],
  ['admin', 'AccountAdmin'],
  ['users', 'AccountUser'],
  ['user', 'AccountUser'],
]);

/** `invites [page N]` (or `invites N`): which page of the pending invites. */
function invitesPage(rest: Token[], word: string): Command {
  const usage = `Usage: ${USAGE.invites}`;
  if (rest.length === 0) return { kind: 'invites', page: 1 };
  const words = rest.map((t) => ('word' in t ? t.word : ''));
  const number =
    words.length === 2 && words[0]?.toLowerCase() === 'page' ? words[1] : words.length === 1 ? words[0] : '';
  if (!number || !/^\d+$/.test(number)) return invalid('invites', `${word} takes a page number only. ${usage}`);
  const page = wholeNumber(number, MAX_PAGE);
  return page ? { kind: 'invites', page } : invalid('invites', `Give a page number from 1. ${usage}`);
}

/** Subcommands that take nothing more. */
const bare =
  (name: 'help' | 'whoami'): Parse =>
  (rest, word) =>
    rest.length === 0 ? { kind: name } : invalid(name, `${word} takes nothing more. Usage: ${USAGE[name]}`);

/** Each subcommand's arguments, after its word. */
const PARSERS: Record<SubcommandName, Parse> = {
  help: bare('help'),
  whoami: bare('whoami'),
  invites: invitesPage,

  list: (rest) => listing('list', rest),
  find: (rest) => listing('find', rest),

  export(rest) {
    const usage = `Usage: ${USAGE.export}`;
    const words = rest.map((t) => ('word' in t ? t.word.toLowerCase() : '@'));
    const [what, ...more] = words;
    if ((what === 'members' || what === 'member') && more.length === 0) return { kind: 'export', what: 'members' };
    if (what !== 'audit') return invalid('export', `Say what to export: members or audit. ${usage}`);
    if (more.length === 0) return { kind: 'export', what: 'audit', days: DEFAULT_EXPORT_DAYS };
    // 90, 90 days, 90d
    const [count, unit, extra] = more;
    const number = count?.endsWith('d') && !unit ? count.slice(0, -1) : count;
    const days = wholeNumber(number, MAX_EXPORT_DAYS);
    if (!days || extra || (unit !== undefined && unit !== 'days' && unit !== 'day')) {
      return invalid('export', `Give the number of days, from 1 to ${MAX_EXPORT_DAYS}. ${usage}`);
    }
    return { kind: 'export', what: 'audit', days };
  },

  invite(rest) {
    if (rest.length === 0) return { kind: 'invite_link' };
    const first = rest[0] as Token;
    if ('word' in first && ['link', 'for', 'uses'].includes(first.word.toLowerCase())) return linkOptions(rest);
    const users: string[] = [];
    const sources: Source[] = [];
    for (const token of rest) {
      const source = 'word' in token ? sourceOf(token.word) : undefined;
      if (source) {
        if (!sources.some((s) => s.id === source.id)) sources.push(source);
        continue;
      }
      const user = userOf(token);
      if (!user) return notAPerson('invite', token);
      if (!users.includes(user)) users.push(user);
    }
    if (users.length > MAX_INVITEES) {
      return invalid(
        'invite',
        `You can name at most ${MAX_INVITEES} people at once (you named ${users.length}); nothing was sent. A channel or user group may hold any number.`,
      );
    }
    return sources.length ? { kind: 'invite', users, sources } : { kind: 'invite', users };
  },

  revoke(rest) {
    const [token, extra] = rest;
    const id = token && 'word' in token ? token.word.replace(/^`+|`+$/g, '').toLowerCase() : undefined;
    if (!id || extra)
      return invalid('revoke', `Name one invite id, as /chatbees-users invites shows it. Usage: ${USAGE.revoke}`);
    if (!INVITE_ID.test(id))
      return invalid('revoke', `"${id.slice(0, 40)}" is not an invite id. See /chatbees-users invites.`);
    return { kind: 'revoke', inviteId: id };
  },

  role(rest) {
    const [who, roleToken, extra] = rest;
    if (!who || !roleToken || extra) return invalid('role', `Name one person and a role. Usage: ${USAGE.role}`);
    const user = userOf(who);
    if (!user) return notAPerson('role', who);
    const role = 'word' in roleToken ? parseRole(roleToken.word) : undefined;
    if (!role) {
      return invalid(
        'role',
        `"${describe(roleToken).slice(0, 40)}" is not a role: use AccountAdmin or AccountUser (admin or user).`,
      );
    }
    return { kind: 'role', user, role };
  },

  remove(rest) {
    const [who, extra] = rest;
    if (!who || extra) return invalid('remove', `Name one person. Usage: ${USAGE.remove}`);
    const user = userOf(who);
    return user ? { kind: 'remove', user } : notAPerson('remove', who);
  },

  request(rest) {
    const reason = rest.map(describe).join(' ').trim();
    return reason ? { kind: 'request', reason: reason.slice(0, MAX_REASON_LENGTH) } : { kind: 'request' };
  },

  requests(rest) {
    if (rest.length === 0) return { kind: 'requests' };
    const [first, target, extra] = rest.map((t) => ('word' in t ? t.word : describe(t)));
    const usage = `Usage: ${USAGE.requests} or ${USAGE.requestsChannel}`;
    if (first?.toLowerCase() !== 'channel' || extra) return invalid('requests', usage);
    if (target === undefined) return { kind: 'requests_channel' };
    if (['off', 'none', 'dm', 'dms'].includes(target.toLowerCase())) return { kind: 'requests_channel', channel: null };
    const channel = CHANNEL.exec(target)?.[1] ?? (BARE_CHANNEL_ID.test(target) ? target : undefined);
    if (channel) return { kind: 'requests_channel', channel };
    return invalid(
      'requests',
      `"${target.slice(0, 40)}" is not a channel I can recognise: pick it from Slack's #-list so it becomes a link. ${usage}`,
    );
  },

  audit(rest) {
    const [count, extra] = rest;
    if (!count) return { kind: 'audit', limit: DEFAULT_AUDIT_ENTRIES };
    const limit = 'word' in count ? wholeNumber(count.word, MAX_AUDIT_ENTRIES) : undefined;
    if (!limit || extra) return invalid('audit', `Give a number from 1 to ${MAX_AUDIT_ENTRIES}. Usage: ${USAGE.audit}`);
    return { kind: 'audit', limit };
  },
};

export function parseCommand(rawText: unknown): Command {
  const text = typeof rawText === 'string' ? rawText : '';
  if (text.length > MAX_TEXT_LENGTH) {
    return invalid(null, `That command is too long (${text.length} characters; at most ${MAX_TEXT_LENGTH}).`);
  }
  if (CONTROL.test(text))
    return invalid(null, 'That command contains control characters; type it again as plain text.');

  const tokens = tokenize(text.trim());
  const [head, ...rest] = tokens;
  if (!head) return { kind: 'console' };
  if ('user' in head)
    return invalid(null, 'Start with what to do, e.g. /chatbees-users invite @person. Try /chatbees-users help.');
  const name = subcommandOf(head.word);
  if (!name) return { kind: 'unknown', word: head.word.slice(0, 40) };
  return PARSERS[name](rest, head.word);
}

/** The operation a parsed command is; undefined for an unknown word or unusable text. */
export function commandOperation(command: Command): Operation | undefined {
  switch (command.kind) {
    case 'console':
      return OPERATION.console;
    case 'invite_link':
      return OPERATION.shareLink;
    case 'requests_channel':
      return OPERATION.requestsChannel;
    case 'unknown':
      return undefined;
    case 'invalid':
      return command.name === null ? undefined : subcommandOperation(command.name);
    default:
      return subcommandOperation(command.kind);
  }
}
