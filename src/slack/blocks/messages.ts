// Ephemeral answers to /chatbees-users. Pure functions from service results to Block Kit.
import type { KnownBlock } from '@slack/types';
import { adminRefusalText, refusalText } from '../../refusal-text.js';
import { SLACK_ACTOR } from '../../services/members.js';
import type { InvitePage } from '../../services/operations/list-invites.js';
import type { MemberFilter, MemberPage } from '../../services/operations/list-members.js';
import type { Account, AuditEntry, Invite, ListedMember, Member, Refusal, Role } from '../../services/types.js';
import { USAGE } from '../command/parse.js';
import { BUTTONS, helpLines, subcommandNames } from '../operations.js';
import { escapeMrkdwn, link, mention, slackDate, slackDay, truncate } from './text.js';

export interface Message {
  text: string;
  blocks?: KnownBlock[];
}

/** Section text must stay under Slack's 3,000 characters. */
const SECTION_LIMIT = 2900;

export function plain(text: string): Message {
  return { text: escapeMrkdwn(text) };
}

export function refusal(reason: Refusal): Message {
  return plain(refusalText(reason));
}

/**
 * The account's name for mrkdwn, at most `max` characters once escaped: shortened before
 * escaping, so no escape (&amp; &lt; &gt;) is cut in half.
 */
export function accountName(account: Account, max = Number.POSITIVE_INFINITY): string {
  const raw = account.name ?? account.slackTeamId ?? 'this account';
  let keep = Math.min(raw.length, max);
  for (;;) {
    const shown = escapeMrkdwn(truncate(raw, keep));
    if (shown.length <= max || keep <= 1) return shown;
    // An escape is at most 5 characters for 1: shorten by at least what is over.
    keep -= Math.max(1, Math.floor((shown.length - max) / 5));
  }
}

const ROLE_POWERS: Record<Role, string> = {
  AccountAdmin: 'read, write and admin: you can invite people, change roles and remove members',
  AccountUser: 'read-only: you can use ChatBees, and an AccountAdmin manages who is in the account',
};

export function roleNeeded(role: Role | null, what: string): Message {
  if (role === null) {
    // Not a member: they can ask for access from the refusal itself.
    const { text } = refusal('not_member');
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, requestAccessBlock()] };
  }
  return plain(`${what} needs the AccountAdmin role; you are an ${role}. Ask an AccountAdmin if you need it.`);
}

export function toldText(delivery: { ok: boolean; error?: string }): string {
  return delivery.ok
    ? 'I told them by DM.'
    : `I could not tell them by DM (${escapeMrkdwn(delivery.error ?? 'error')}); please let them know.`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The links a change ended: those the person made, and an invite still pending for them. */
function linksEnded(made: number, forThem = 0): string {
  const parts = [
    ...(made ? [`${plural(made, 'registration link')} they made`] : []),
    ...(forThem ? ['the invite still pending for them'] : []),
  ];
  return parts.length ? ` ${parts.join(' and ')} stopped working.` : '';
}

/** A change the services refused, as an admin reads it (the command and the console alike). */
export function changeRefused(reason: Refusal): string {
  return escapeMrkdwn(adminRefusalText(reason));
}

/** A role change that changed nothing: the person has that role already. */
export function roleUnchanged(user: string, role: Role): string {
  return `${mention(user)} is already an ${role}; nothing changed.`;
}

/** A role change done, as the command and the console both answer it. */
export function roleChangeDone(
  user: string,
  role: Role,
  revokedInvites: number,
  told: { ok: boolean; error?: string },
): string {
  return `${mention(user)} is now an *${role}*.${linksEnded(revokedInvites)} ${toldText(told)}`;
}

/** A revocation done, as the command and the console both answer it. */
export function revokeDone(invite: Invite): string {
  const whose = invite.forSlackUserId ? ` for ${mention(invite.forSlackUserId)}` : '';
  return `Revoked invite \`${invite.id}\`${whose}: the link no longer works.`;
}

/** A removal done, as the command and the console both answer it. */
export function removalDone(
  account: Account,
  user: string,
  ended: { revokedInvites: number; invitesForThem: number },
  told: { ok: boolean; error?: string },
): string {
  return `Removed ${mention(user)} from *${accountName(account)}*; their access has ended.${linksEnded(ended.revokedInvites, ended.invitesForThem)} ${toldText(told)}`;
}

/** How a new AccountAdmin is named when none can act, in single-workspace mode. */
export const NEW_ADMIN_BY_RESTART =
  'Whoever runs this app can name a new AccountAdmin with INITIAL_ADMINS and a restart.';

/** How a new AccountAdmin is named when none can act, in multi-workspace mode. */
export function newAdminByReinstall(installUrl: string): string {
  return `Someone allowed to install apps in this workspace can install the app again (${link(installUrl, 'install')}) and becomes its AccountAdmin.`;
}

/** Said wherever the account's state shows, while no AccountAdmin can act. */
export function noUsableAdmin(newAdminHint: string): string {
  return `:warning: Every AccountAdmin of this account is deactivated in Slack, so nobody can invite people or change roles. ${newAdminHint}`;
}

/** For someone who is not a member: whom to ask, and their access request when one is open. */
export interface Asking {
  admins: string[];
  openRequest?: { since: Date };
  /** Their last request was denied: when they may ask again. */
  askAgainFrom?: Date;
}

/** The Request access button, offered wherever a non-member is told they are not one. */
export function requestAccessBlock(value = 'request'): KnownBlock {
  return {
    type: 'actions',
    block_id: 'request_access',
    elements: [
      {
        type: 'button',
        action_id: BUTTONS.requestAccess,
        text: { type: 'plain_text', text: 'Request access' },
        style: 'primary',
        value,
      },
    ],
  };
}

/**
 * Your role; `warning` (the account's state) is added when there is one. Someone who is not a
 * member gets a Request access button, unless they asked already (then: since when).
 */
export function whoami(account: Account, member: Member | null, asking: Asking, warning?: string): Message {
  const said = whoamiText(account, member, asking);
  const text = warning ? `${said.text}\n${warning}` : said.text;
  if (member?.status === 'active' || asking.openRequest || asking.askAgainFrom) return { text };
  // Not a member: they can ask from here (Slack says who presses).
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, requestAccessBlock()] };
}

function whoamiText(account: Account, member: Member | null, asking: Asking): Message {
  if (member?.status !== 'active') {
    const lead = `You are not registered in *${accountName(account)}* on ChatBees.`;
    if (asking.openRequest) {
      return {
        text: `${lead} You asked for access ${slackDate(asking.openRequest.since)}: the AccountAdmins have your request, and you will hear here when it is decided.`,
      };
    }
    if (asking.askAgainFrom) {
      return {
        text: `${lead} An AccountAdmin did not approve your last request for access; you can ask again ${slackDate(asking.askAgainFrom)}.`,
      };
    }
    const ask = asking.admins.length
      ? ` Ask an AccountAdmin (${asking.admins.map(mention).join(', ')}) for an invite, or press *Request access*.`
      : ' Ask an AccountAdmin for an invite, or press *Request access*.';
    return { text: `${lead}${ask}` };
  }
  return {
    text: `You are an *${member.role}* of *${accountName(account)}* on ChatBees (${ROLE_POWERS[member.role]}). Registered ${slackDay(member.registeredAt)}.`,
  };
}

function helpText(role: Role | null): string {
  const lines = (admin: boolean) => helpLines(admin).map(({ usage, help }) => `\`${usage}\` — ${help}`);
  if (role !== 'AccountAdmin') {
    const lead =
      role === 'AccountUser'
        ? 'You are an AccountUser (read-only). AccountAdmins manage members with /chatbees-users.'
        : 'You are not registered in this ChatBees account: ask an AccountAdmin for an invite.';
    return [lead, ...lines(false)].join('\n');
  }
  return ['*ChatBees user admin*', ...lines(true)].join('\n');
}

/** The help depends on the role alone (and the operations table): each text is made once. */
const HELP_TEXTS = new Map<Role | null, string>();

export function help(role: Role | null): Message {
  let text = HELP_TEXTS.get(role);
  if (text === undefined) {
    text = helpText(role);
    HELP_TEXTS.set(role, text);
  }
  return { text };
}

export function unknownCommand(word: string, role: Role | null): Message {
  // Admins have many to try: help is offered after them; others have two.
  const admin = role === 'AccountAdmin';
  const short = subcommandNames(admin)
    .filter((name) => !admin || name !== 'help')
    .join(', ');
  return { text: `I don't know "${escapeMrkdwn(word)}". Try: ${short} — or \`/chatbees-users help\`.` };
}

export function memberLine(member: ListedMember): string {
  const mark = member.slackDeactivatedAt ? ' · :warning: deactivated in Slack' : '';
  return `${mention(member.slackUserId)} · *${member.role}* · registered ${slackDay(member.registeredAt)}${mark}`;
}

/** What a list was narrowed to, as words: "AccountAdmins", "matching “ana”". */
export function filterWords(filter: MemberFilter): string {
  return 'role' in filter ? `${filter.role}s` : `whose name or email contains “${escapeMrkdwn(filter.text)}”`;
}

/**
 * How many a list holds: "12 in all", "more than 200 (…)". Pages by number stop at the cap;
 * the console's Next (`paged`) goes on past it.
 */
export function countWords(page: MemberPage, how: 'numbered' | 'paged' = 'numbered'): string {
  const cap = page.total.toLocaleString('en-US');
  if (!page.more) return `${cap} in all`;
  return how === 'numbered' ? `more than ${cap} (the first ${cap} are shown: narrow the search)` : `more than ${cap}`;
}

/** A search's line also shows the email it may have matched. */
function searchLine(member: ListedMember): string {
  return member.email ? `${memberLine(member)} · ${escapeMrkdwn(member.email)}` : memberLine(member);
}

export function memberList(
  account: Account,
  page: MemberPage,
  pageSize: number,
  command: 'list' | 'find' = 'list',
): Message {
  const pages = Math.max(1, Math.ceil(page.total / pageSize));
  const number = page.page ?? 1;
  const filter = page.filter;
  const head = filter
    ? `*Members of ${accountName(account)}* ${filterWords(filter)}`
    : `*Members of ${accountName(account)}*`;
  const title = `${head} — ${countWords(page)} · page ${number} of ${pages}`;
  if (page.members.length === 0) {
    return { text: `${head}\n${filter ? 'Nobody matches: try part of a name or of an email.' : 'No members yet.'}` };
  }
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: title } }];
  let chunk = '';
  for (const line of page.members.map(filter && 'text' in filter ? searchLine : memberLine)) {
    if (chunk.length + line.length + 1 > SECTION_LIMIT) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
      chunk = '';
    }
    chunk = chunk ? `${chunk}\n${line}` : line;
  }
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
  if (number < pages) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Next: \`/chatbees-users ${nextCommand(command, filter, number + 1)}\`` }],
    });
  }
  return { text: `${title}`, blocks };
}

/** The command that shows page `page` of the same list. */
function nextCommand(command: 'list' | 'find', filter: MemberFilter | null, page: number): string {
  if (!filter) return `list page ${page}`;
  const what = 'role' in filter ? (filter.role === 'AccountAdmin' ? 'admins' : 'users') : filter.text;
  return `${'role' in filter ? 'list' : command} ${escapeMrkdwn(what)} page ${page}`;
}

export function inviteLine(invite: Invite): string {
  const who = invite.forSlackUserId ? mention(invite.forSlackUserId) : 'anyone with the link';
  const uses =
    invite.forSlackUserId === null ? ` · used ${invite.uses}${invite.maxUses ? ` of ${invite.maxUses}` : ''}` : '';
  return `${who} · invited by ${mention(invite.createdBy)} · expires ${slackDate(invite.expiresAt)}${uses} · \`${invite.id}\``;
}

/** The answer to `invite link`: the link for the admin to share, and what it allows. */
export function sharedLink(account: Account, invite: Invite, url: string): Message {
  const uses = invite.maxUses === null ? 'as many people as open it' : `up to ${invite.maxUses} people`;
  return {
    text: [
      `:link: A registration link for *${accountName(account)}*, for ${uses}: ${link(url, 'registration link')}`,
      `Each person signs in with Slack and joins as an AccountUser. It expires ${slackDate(invite.expiresAt)}.`,
      `Share it where your team will see it. \`/chatbees-users invites\` shows how many used it; \`/chatbees-users revoke ${invite.id}\` stops it.`,
    ].join('\n'),
  };
}

/** A page of the pending invites, soonest to expire first, with the command for the next. */
export function pendingInvites(account: Account, page: InvitePage): Message {
  const title = `*Pending invites in ${accountName(account)}*`;
  if (page.invites.length === 0) {
    return page.page === 1
      ? { text: `${title}\nNone. Invite someone with \`${USAGE.invite}\`.` }
      : { text: `${title} — page ${page.page}\nNothing on this page: \`/chatbees-users invites\` shows the first.` };
  }
  const next = page.next ? `\nNext: \`/chatbees-users invites page ${page.page + 1}\`` : '';
  return {
    text: `${title} — page ${page.page}, soonest to expire first\n${page.invites.map(inviteLine).join('\n')}${next}\nStop one with \`${USAGE.revoke}\`.`,
  };
}

/** ", ending N registration links they made", from an audit entry's list of revoked invite ids. */
function endedLinks(ids: unknown): string {
  const n = Array.isArray(ids) ? ids.length : 0;
  return n ? `, ending ${plural(n, 'registration link')} they made` : '';
}

function auditSentence(entry: AuditEntry): string {
  const who =
    entry.actor === 'system'
      ? 'Start-up (INITIAL_ADMINS)'
      : entry.actor === SLACK_ACTOR
        ? 'Slack (a deactivation)'
        : mention(entry.actor);
  const target = entry.targetSlackUserId ? mention(entry.targetSlackUserId) : '';
  const after = entry.after ?? {};
  const before = entry.before ?? {};
  switch (entry.action) {
    case 'member.bootstrapped':
      return entry.source === 'slack_install'
        ? `${target} installed the app and became an AccountAdmin`
        : `${who} made ${target} an AccountAdmin`;
    case 'app.installed':
      // Slack does not always say who installed.
      return `${entry.actor === SLACK_ACTOR ? 'The app was installed' : `${who} installed the app`} in Slack${after.reinstall ? ' again' : ''}`;
    case 'app.uninstalled':
      return `The app was ${after.event === 'tokens_revoked' ? 'deauthorized' : 'uninstalled'} in Slack; its tokens were deleted, members kept`;
    case 'member.registered':
      return after.accessRequest
        ? `${who} approved ${target}'s access request`
        : `${target} registered (invited by ${mention(String(after.invitedBy ?? ''))})`;
    case 'access.denied':
      return `${who} denied ${target}'s access request`;
    case 'member.role_changed':
      return `${who} changed ${target}'s role ${escapeMrkdwn(String(before.role))} → ${escapeMrkdwn(String(after.role))}${endedLinks(after.revokedInvites)}`;
    case 'member.removed':
      return `${who} removed ${target}${endedLinks(after.revokedInvites)}${
        Array.isArray(after.revokedInvitesForThem) && after.revokedInvitesForThem.length
          ? ', and the invite still pending for them'
          : ''
      }`;
    case 'member.kept_deactivated':
      return `${target} was deactivated in Slack but stays an AccountAdmin: the account has no other`;
    case 'invite.created':
      return `${who} invited ${target || 'anyone with the link'} (\`${escapeMrkdwn(entry.targetInviteId ?? '')}\`)`;
    case 'invite.revoked':
      return `${who} revoked invite \`${escapeMrkdwn(entry.targetInviteId ?? '')}\`${target ? ` for ${target}` : ''}${
        after.reason === 'invitee_deactivated' ? ' (they were deactivated in Slack)' : ''
      }`;
    case 'members.exported':
    case 'audit.exported': {
      const what =
        entry.action === 'members.exported' ? 'the members' : `the audit log's last ${Number(after.days ?? 0)} days`;
      return after.shared === false
        ? `${who}'s export of ${what} did not reach Slack (${escapeMrkdwn(String(after.error ?? ''))}): no file was shared`
        : `${who} exported ${what} (${Number(after.rows ?? 0)} rows) to a file`;
    }
    case 'access.refused':
      return `${who} was refused ${escapeMrkdwn(String(after.operation ?? 'an admin operation'))} (${escapeMrkdwn(String(after.reason ?? ''))})`;
    default:
      return `${who} ${escapeMrkdwn(String(entry.action))}`;
  }
}

export function auditLog(account: Account, entries: AuditEntry[]): Message {
  const title = `*Latest changes in ${accountName(account)}*`;
  if (entries.length === 0) return { text: `${title}\nNothing yet.` };
  const lines = entries.map((e) => `${slackDate(e.createdAt)} — ${auditSentence(e)}`);
  return { text: `${title}\n${lines.join('\n')}` };
}

/** Said when the database (or something else we depend on) failed: never a stack trace. */
export const UNAVAILABLE = 'ChatBees user admin is temporarily unavailable; try again in a minute.';
