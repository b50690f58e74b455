// Every thing a person can do through Slack, in one table: who may do it, its name in refusals
// and its key in the audit log, the subcommand words, button ids and form ids that reach it, and
// its line in the help. The command parser, the permission middleware, the help text and the
// unknown-command hint are derived from this table: adding an operation is one entry here, its
// parsing (if it takes arguments), its listener and its renderers.

import { DEFAULT_EXPORT_DAYS, MAX_EXPORT_DAYS } from '../services/operations/export-data.js';
import { MAX_AUDIT_ENTRIES } from '../services/operations/read-audit.js';

/** Button action ids: what the permission middleware and the listeners match on. */
export const BUTTONS = {
  nextPage: 'console_next_page',
  previousPage: 'console_previous_page',
  openInviteForm: 'console_open_invite_form',
  setRole: 'member_set_role',
  remove: 'member_remove',
  revokeInvite: 'invite_revoke',
  openConsoleFromHome: 'home_open_console',
  openRegistrationLink: 'open_registration_link',
  acceptInvitation: 'invitation_accept',
  askAgain: 'invitation_ask_again',
  inviteAgain: 'invitation_invite_again',
  requestAccess: 'access_request_ask',
  approveRequest: 'access_request_approve',
  denyRequest: 'access_request_deny',
  bulkInvite: 'bulk_invite_start',
  bulkCancel: 'bulk_invite_cancel',
  bulkStop: 'bulk_invite_stop',
  bulkRevokeAll: 'bulk_invite_revoke_all',
  /** The console's search box (Enter) and its "Show everyone". */
  searchMembers: 'console_search',
  clearSearch: 'console_search_clear',
} as const;

/** Modal callback ids. */
export const FORMS = {
  invitePeople: 'invite_people',
  denyRequest: 'access_request_deny_reason',
  /** The console itself: its Search button submits it. */
  console: 'admin_console',
} as const;

export type SubcommandName =
  | 'help'
  | 'whoami'
  | 'list'
  | 'find'
  | 'export'
  | 'invite'
  | 'invites'
  | 'revoke'
  | 'role'
  | 'remove'
  | 'audit'
  | 'request'
  | 'requests';

export interface Operation {
  /** Its key in the audit log (refusals). */
  id: string;
  /** Its name where a button or form is refused ("Changing roles needs the AccountAdmin role"). */
  label: string;
  who: 'everyone' | 'admin';
  /** The subcommand it is, and the words that reach it (the first is its name). */
  subcommand?: { name: SubcommandName; words: string[] };
  usage?: string;
  /** Its line in `/chatbees-users help`, when it has one. */
  help?: string;
  buttons?: readonly string[];
  forms?: readonly string[];
  /** Events that reach it (a person opened the App Home). */
  events?: readonly string[];
  /** Slack itself handles its buttons (a link button opens its URL): no listener acts on them. */
  handledBySlack?: true;
  /** Offered (help, hint) to people who are not AccountAdmins only: admins have no use for it. */
  notForAdmins?: true;
}

export const OPERATIONS: readonly Operation[] = [
  {
    id: 'console.open',
    label: 'Opening the admin console',
    who: 'everyone',
    usage: '/chatbees-users',
    help: 'open the admin console',
  },
  {
    id: 'console.open_from_home',
    label: 'Opening the admin console',
    who: 'admin',
    buttons: [BUTTONS.openConsoleFromHome],
  },
  {
    id: 'console.page',
    label: 'Paging the console',
    who: 'admin',
    buttons: [BUTTONS.nextPage, BUTTONS.previousPage],
  },
  {
    id: 'invites.send',
    label: 'Inviting people',
    who: 'admin',
    subcommand: { name: 'invite', words: ['invite'] },
    usage: '/chatbees-users invite @person|#channel|@group …',
    help: 'personal registration links by DM: people, channels, user groups (counts first past 50)',
    buttons: [BUTTONS.openInviteForm],
    forms: [FORMS.invitePeople],
  },
  // Inviting channels and user groups: the counts' Invite and Cancel, then Stop and Revoke all.
  {
    id: 'invites.bulk',
    label: 'Inviting channels and user groups',
    who: 'admin',
    buttons: [BUTTONS.bulkInvite, BUTTONS.bulkCancel, BUTTONS.bulkStop, BUTTONS.bulkRevokeAll],
  },
  {
    id: 'invites.share_link',
    label: 'Making a link for anyone',
    who: 'admin',
    usage: '/chatbees-users invite link [for 3d] [uses 20]',
    help: 'a link for anyone in the workspace (needs Sign in with Slack)',
  },
  {
    id: 'invites.list',
    label: 'Listing pending invites',
    who: 'admin',
    subcommand: { name: 'invites', words: ['invites', 'pending'] },
    usage: '/chatbees-users invites [page N]',
    help: 'pending invites',
  },
  {
    id: 'invites.revoke',
    label: 'Revoking invites',
    who: 'admin',
    subcommand: { name: 'revoke', words: ['revoke'] },
    usage: '/chatbees-users revoke <invite id>',
    help: 'stop a link from working',
    buttons: [BUTTONS.revokeInvite],
  },
  {
    id: 'members.list',
    label: 'Listing members',
    who: 'admin',
    subcommand: { name: 'list', words: ['list', 'members'] },
    usage: '/chatbees-users list [admins|users|<name or email>] [page N]',
    help: 'members and their roles; admins, users, or those whose name or email contains a text',
  },
  {
    id: 'members.find',
    label: 'Searching members',
    who: 'admin',
    subcommand: { name: 'find', words: ['find', 'search'] },
    usage: '/chatbees-users find <name or email> [page N]',
    help: 'members whose name or email contains a text (even "admins")',
    buttons: [BUTTONS.searchMembers, BUTTONS.clearSearch],
    forms: [FORMS.console],
  },
  {
    id: 'members.change_role',
    label: 'Changing roles',
    who: 'admin',
    subcommand: { name: 'role', words: ['role'] },
    usage: '/chatbees-users role @person AccountAdmin|AccountUser',
    help: 'change a role (admin / user work too)',
    buttons: [BUTTONS.setRole],
  },
  {
    id: 'members.remove',
    label: 'Removing members',
    who: 'admin',
    subcommand: { name: 'remove', words: ['remove'] },
    usage: '/chatbees-users remove @person',
    help: 'remove someone from the account',
    buttons: [BUTTONS.remove],
  },
  {
    id: 'audit.read',
    label: 'Reading the audit log',
    who: 'admin',
    subcommand: { name: 'audit', words: ['audit'] },
    usage: `/chatbees-users audit [N up to ${MAX_AUDIT_ENTRIES}]`,
    help: 'the latest changes',
  },
  {
    id: 'data.export',
    label: 'Exporting members and the audit log',
    who: 'admin',
    subcommand: { name: 'export', words: ['export'] },
    usage: `/chatbees-users export members|audit [days, up to ${MAX_EXPORT_DAYS}]`,
    help: `a CSV file in your DM: every member, or the audit log's last days (${DEFAULT_EXPORT_DAYS} unless given)`,
  },
  {
    id: 'access.request',
    label: 'Asking for access',
    who: 'everyone',
    subcommand: { name: 'request', words: ['request'] },
    buttons: [BUTTONS.requestAccess],
    usage: '/chatbees-users request [reason]',
    help: 'ask the AccountAdmins for access',
    notForAdmins: true,
  },
  {
    id: 'access.list',
    label: 'Listing access requests',
    who: 'admin',
    subcommand: { name: 'requests', words: ['requests'] },
    usage: '/chatbees-users requests',
    help: 'open access requests, with Approve and Deny',
  },
  {
    id: 'access.requests_channel',
    label: 'Choosing where access requests go',
    who: 'admin',
    usage: '/chatbees-users requests channel #channel|off',
    help: 'post access requests in a channel (the app must be in it), or off for DMs to the admins',
  },
  // Approve and Deny on any copy of a request, or in the `requests` list; Deny's reason form.
  {
    id: 'access.decide',
    label: 'Deciding access requests',
    who: 'admin',
    buttons: [BUTTONS.approveRequest, BUTTONS.denyRequest],
    forms: [FORMS.denyRequest],
  },
  {
    id: 'whoami',
    label: 'Asking your role',
    who: 'everyone',
    subcommand: { name: 'whoami', words: ['whoami', 'me'] },
    usage: '/chatbees-users whoami',
    help: 'your role in this account',
  },
  {
    id: 'help',
    label: 'Help',
    who: 'everyone',
    subcommand: { name: 'help', words: ['help', '?'] },
    usage: '/chatbees-users help',
    help: 'this list',
  },
  {
    id: 'home.open',
    label: 'The Home tab',
    who: 'everyone',
    events: ['app_home_opened'],
  },
  // In the invitation's DM: Slack says who pressed it; the operation checks it is them.
  {
    id: 'invitation.accept',
    label: 'Accepting an invitation',
    who: 'everyone',
    buttons: [BUTTONS.acceptInvitation],
  },
  // In an expired invitation's DM: its person asks the admin who invited them for a new one.
  {
    id: 'invitation.ask_again',
    label: 'Asking for a new invitation',
    who: 'everyone',
    buttons: [BUTTONS.askAgain],
  },
  // In that admin's DM: a new invitation, as `invite` makes it.
  {
    id: 'invites.invite_again',
    label: 'Inviting people',
    who: 'admin',
    buttons: [BUTTONS.inviteAgain],
  },
  // On the link's page, not in Slack: here for its audit key (a refused registration) and its name.
  {
    id: 'register',
    label: 'Registering through a link',
    who: 'everyone',
  },
  // Slack opens the link itself and tells the app: nothing to check.
  {
    id: 'registration.open_link',
    label: 'Opening a registration link',
    who: 'everyone',
    buttons: [BUTTONS.openRegistrationLink],
    handledBySlack: true,
  },
];

function byId(id: string): Operation {
  const found = OPERATIONS.find((o) => o.id === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found;
}

// Maps, not object literals: a word or id like "__proto__" must not find a prototype member.
const SUBCOMMANDS = new Map<SubcommandName, Operation>(
  OPERATIONS.flatMap((o) => (o.subcommand ? [[o.subcommand.name, o] as const] : [])),
);
const WORDS = new Map<string, SubcommandName>(
  OPERATIONS.flatMap((o) => (o.subcommand ? o.subcommand.words.map((w) => [w, o.subcommand!.name] as const) : [])),
);
const BY_BUTTON = new Map<string, Operation>(OPERATIONS.flatMap((o) => (o.buttons ?? []).map((b) => [b, o] as const)));
const BY_FORM = new Map<string, Operation>(OPERATIONS.flatMap((o) => (o.forms ?? []).map((f) => [f, o] as const)));

/** The subcommand a typed word names, if any. */
export function subcommandOf(word: string): SubcommandName | undefined {
  return WORDS.get(word.toLowerCase());
}

/** The operation of a subcommand; a subcommand missing from the table is a bug, not an open door. */
export function subcommandOperation(name: SubcommandName): Operation {
  const operation = SUBCOMMANDS.get(name);
  if (!operation) throw new Error(`subcommand ${name} is not in the operations table`);
  return operation;
}

export const OPERATION = {
  console: byId('console.open'),
  shareLink: byId('invites.share_link'),
  requestsChannel: byId('access.requests_channel'),
} as const;

/** The operation an event reaches; undefined for an event that needs nobody's check. */
export function eventOperation(type: string): Operation | undefined {
  return OPERATIONS.find((o) => o.events?.includes(type));
}

/**
 * The buttons and forms the listeners must handle, from the table: the dispatchers check at start
 * that each has its handler and that no handler answers an id the table does not list.
 */
export const HANDLED_BUTTONS: readonly string[] = OPERATIONS.filter((o) => !o.handledBySlack).flatMap(
  (o) => o.buttons ?? [],
);
export const HANDLED_FORMS: readonly string[] = OPERATIONS.flatMap((o) => o.forms ?? []);

/** Throws at start when the handlers registered and the table disagree. */
export function checkHandlers(kind: 'button' | 'form', handled: Iterable<string>): void {
  const listed = new Set(kind === 'button' ? HANDLED_BUTTONS : HANDLED_FORMS);
  const have = new Set(handled);
  const missing = [...listed].filter((id) => !have.has(id));
  const unlisted = [...have].filter((id) => !listed.has(id));
  if (missing.length || unlisted.length) {
    throw new Error(
      `${kind} handlers disagree with the operations table: missing ${missing.join(', ') || 'none'}; not in the table ${unlisted.join(', ') || 'none'}`,
    );
  }
}

/** The operation a button reaches; undefined for an id nobody handles. */
export function buttonOperation(actionId: string): Operation | undefined {
  return BY_BUTTON.get(actionId);
}

/** The operation a modal submission reaches; undefined for a form nobody handles. */
export function formOperation(callbackId: string): Operation | undefined {
  return BY_FORM.get(callbackId);
}

/** The help, in the table's order: everything for AccountAdmins, what everyone may do for others. */
export function helpLines(admin: boolean): Array<{ usage: string; help: string }> {
  return OPERATIONS.filter((o) => o.help && o.usage && (admin ? !o.notForAdmins : o.who === 'everyone'))
    .filter((o) => admin || o.id !== 'console.open')
    .map((o) => ({ usage: o.usage as string, help: o.help as string }));
}

/** The subcommand names someone may use, for the unknown-command hint. */
export function subcommandNames(admin: boolean): SubcommandName[] {
  return OPERATIONS.filter((o) => o.subcommand && (admin ? !o.notForAdmins : o.who === 'everyone')).map(
    (o) => (o.subcommand as { name: SubcommandName }).name,
  );
}
