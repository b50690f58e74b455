// The admin console modal and the invite form, within Slack's limits: <= 100 blocks,
// titles <= 24 characters, private_metadata <= 3000 characters, unique block ids.
import type { Button, KnownBlock, ModalView } from '@slack/types';
import type { InviteOutcome } from '../../services/operations/invite-people.js';
import { MAX_INVITEES } from '../../services/operations/invite-people.js';
import { MAX_SEARCH_LENGTH, type MemberFilter, type MemberPage } from '../../services/operations/list-members.js';
import { type Account, type Invite, type ListedMember, type Member, ROLES } from '../../services/types.js';
import { BUTTONS, FORMS } from '../operations.js';
import { inviteResults } from './invite-results.js';
import { accountName, countWords, filterWords, inviteLine, memberLine } from './messages.js';
import { mention, truncate } from './text.js';

export const ADMIN_CONSOLE = FORMS.console;
export const INVITEES_BLOCK = 'invitees';
export const INVITEES_INPUT = 'invitees_select';
export const CHANNELS_BLOCK = 'invitee_channels';
export const CHANNELS_INPUT = 'invitee_channels_select';
/** Channels one form may name. */
export const MAX_CHANNELS = 10;

export const SEARCH_BLOCK_ON = 'search_on';
export const SEARCH_BLOCK_OFF = 'search';
export const CONSOLE_PAGE_SIZE = 10;
export const CONSOLE_INVITES_SHOWN = 10;
const MAX_METADATA = 3000;

/** Which page the console shows, of which members: kept in private_metadata so a refresh stays in place. */
export type ConsolePage = { after?: string; before?: string; filter?: MemberFilter };

export function encodePage(page: ConsolePage): string {
  const json = JSON.stringify(page);
  return json.length <= MAX_METADATA ? json : '{}';
}

export function decodePage(metadata: string | undefined): ConsolePage {
  try {
    const value = JSON.parse(metadata || '{}') as Record<string, unknown>;
    const filter = filterOf(value.filter);
    const narrowed = filter ? { filter } : {};
    if (typeof value.after === 'string') return { after: value.after, ...narrowed };
    if (typeof value.before === 'string') return { before: value.before, ...narrowed };
    return narrowed;
  } catch {
    // a damaged value shows the first page
  }
  return {};
}

/** A filter read back from private_metadata: only a known role or a text. */
function filterOf(value: unknown): MemberFilter | undefined {
  const v = value as { role?: unknown; text?: unknown } | null | undefined;
  if (typeof v?.role === 'string') {
    const role = ROLES.find((r) => r === v.role);
    return role ? { role } : undefined;
  }
  return typeof v?.text === 'string' && v.text ? { text: v.text.slice(0, MAX_SEARCH_LENGTH) } : undefined;
}

/** The search box: Enter (or Search) narrows the members; its block changes when cleared so Slack empties it. */
function searchBlock(filter: MemberFilter | undefined): KnownBlock {
  const typed = filter ? ('role' in filter ? (filter.role === 'AccountAdmin' ? 'admins' : 'users') : filter.text) : '';
  return {
    type: 'input',
    block_id: filter ? SEARCH_BLOCK_ON : SEARCH_BLOCK_OFF,
    dispatch_action: true,
    optional: true,
    label: { type: 'plain_text', text: 'Find members' },
    element: {
      type: 'plain_text_input',
      action_id: BUTTONS.searchMembers,
      max_length: MAX_SEARCH_LENGTH,
      placeholder: { type: 'plain_text', text: 'Part of a name or an email, or admins / users' },
      dispatch_action_config: { trigger_actions_on: ['on_enter_pressed'] },
      ...(typed ? { initial_value: typed } : {}),
    },
  };
}

/** What was typed in the search box of a submitted console (whichever of its two blocks it was). */
export function searchTyped(values: Record<string, Record<string, { value?: string | null }>> | undefined): string {
  for (const block of [SEARCH_BLOCK_ON, SEARCH_BLOCK_OFF]) {
    const typed = values?.[block]?.[BUTTONS.searchMembers]?.value;
    if (typeof typed === 'string') return typed;
  }
  return '';
}

export interface ConsoleData {
  account: Account;
  viewer: Member;
  page: MemberPage;
  /** Pending invites, soonest to expire first: at most CONSOLE_INVITES_SHOWN. */
  invites: Invite[];
  /** Whether more are pending than `invites` holds. */
  moreInvites: boolean;
  /** Access requests waiting for a decision. */
  openRequests: number;
  shown: ConsolePage;
  notice?: string;
}

function memberBlocks(member: ListedMember, account: Account): KnownBlock[] {
  const target = member.role === 'AccountAdmin' ? 'AccountUser' : 'AccountAdmin';
  const roleButton: Button = {
    type: 'button',
    action_id: BUTTONS.setRole,
    text: { type: 'plain_text', text: `Make ${target}` },
    value: `${member.slackUserId}|${target}`,
    confirm: {
      title: { type: 'plain_text', text: 'Change role?' },
      text: {
        type: 'mrkdwn',
        text:
          target === 'AccountAdmin'
            ? `Make ${mention(member.slackUserId)} an AccountAdmin? They will be able to invite people, change roles and remove members.`
            : `Make ${mention(member.slackUserId)} an AccountUser? They keep read-only access and lose admin rights.`,
      },
      confirm: { type: 'plain_text', text: `Make ${target}` },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
  const removeButton: Button = {
    type: 'button',
    action_id: BUTTONS.remove,
    text: { type: 'plain_text', text: 'Remove' },
    style: 'danger',
    value: member.slackUserId,
    confirm: {
      title: { type: 'plain_text', text: 'Remove member?' },
      text: {
        type: 'mrkdwn',
        // Slack refuses confirm texts over 300 characters: keep the account's name short.
        text: `Remove ${mention(member.slackUserId)} from ${accountName(account, 60)}? Their access ends at once and the invites they sent stop working.`,
      },
      confirm: { type: 'plain_text', text: 'Remove' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    },
  };
  return [
    { type: 'section', block_id: `member:${member.slackUserId}`, text: { type: 'mrkdwn', text: memberLine(member) } },
    { type: 'actions', block_id: `member_actions:${member.slackUserId}`, elements: [roleButton, removeButton] },
  ];
}

function inviteBlock(invite: Invite): KnownBlock {
  return {
    type: 'section',
    block_id: `invite:${invite.id}`,
    text: { type: 'mrkdwn', text: inviteLine(invite) },
    accessory: {
      type: 'button',
      action_id: BUTTONS.revokeInvite,
      text: { type: 'plain_text', text: 'Revoke' },
      value: invite.id,
      confirm: {
        title: { type: 'plain_text', text: 'Revoke invite?' },
        text: {
          type: 'mrkdwn',
          text: `The link for ${invite.forSlackUserId ? mention(invite.forSlackUserId) : 'anyone with the link'} stops working at once.`,
        },
        confirm: { type: 'plain_text', text: 'Revoke' },
        deny: { type: 'plain_text', text: 'Cancel' },
        style: 'danger',
      },
    },
  };
}

/** The access requests waiting, and where to decide them; nothing when none are. */
function requestsWaiting(open: number): string {
  return open > 0
    ? `\n:raising_hand: ${open} access request${open === 1 ? '' : 's'} waiting: \`/chatbees-users requests\``
    : '';
}

export function consoleView(data: ConsoleData): ModalView {
  const { account, page, invites, moreInvites } = data;
  const blocks: KnownBlock[] = [];
  if (data.notice)
    blocks.push({
      type: 'context',
      block_id: 'notice',
      elements: [{ type: 'mrkdwn', text: truncate(data.notice, 2900) }],
    });
  blocks.push(
    {
      type: 'section',
      block_id: 'summary',
      text: {
        type: 'mrkdwn',
        text: `*${accountName(account)}* · ${page.accountTotal} member${page.accountTotal === 1 ? '' : 's'} · you are an *${data.viewer.role}*${requestsWaiting(data.openRequests)}`,
      },
    },
    {
      type: 'actions',
      block_id: 'console_actions',
      elements: [
        {
          type: 'button',
          action_id: BUTTONS.openInviteForm,
          style: 'primary',
          text: { type: 'plain_text', text: 'Invite people…' },
        },
      ],
    },
    { type: 'divider', block_id: 'members_divider' },
    searchBlock(data.shown.filter),
  );
  const filter = data.shown.filter;
  blocks.push(
    filter
      ? {
          type: 'section',
          block_id: 'members_title',
          text: {
            type: 'mrkdwn',
            text: `*Members* ${filterWords(filter)} — ${countWords(page, 'paged')}${page.members.length ? '' : '\nNobody matches: try part of a name or of an email.'}`,
          },
          accessory: {
            type: 'button',
            action_id: BUTTONS.clearSearch,
            text: { type: 'plain_text', text: 'Show everyone' },
          },
        }
      : { type: 'section', block_id: 'members_title', text: { type: 'mrkdwn', text: '*Members*' } },
  );
  for (const member of page.members) blocks.push(...memberBlocks(member, account));
  const pageButton = (action_id: string, label: string, cursor: string): Button => ({
    type: 'button',
    action_id,
    text: { type: 'plain_text', text: label },
    value: cursor,
  });
  const paging: Button[] = [];
  if (page.previous) paging.push(pageButton(BUTTONS.previousPage, '← Previous', page.previous));
  if (page.next) paging.push(pageButton(BUTTONS.nextPage, 'Next →', page.next));
  if (paging.length) blocks.push({ type: 'actions', block_id: 'paging', elements: paging });

  blocks.push({ type: 'divider', block_id: 'invites_divider' });
  blocks.push({
    type: 'section',
    block_id: 'invites_title',
    text: { type: 'mrkdwn', text: invites.length ? '*Pending invites*' : '*Pending invites*\nNone.' },
  });
  for (const invite of invites) blocks.push(inviteBlock(invite));
  if (moreInvites) {
    blocks.push({
      type: 'context',
      block_id: 'invites_more',
      elements: [
        {
          type: 'mrkdwn',
          text: `Showing the ${CONSOLE_INVITES_SHOWN} that expire soonest; \`/chatbees-users invites\` pages through them all.`,
        },
      ],
    });
  }
  return {
    type: 'modal',
    callback_id: ADMIN_CONSOLE,
    title: { type: 'plain_text', text: 'ChatBees users' },
    close: { type: 'plain_text', text: 'Close' },
    // The search box is an input: Slack wants a submit button beside it, and Search is what it does.
    submit: { type: 'plain_text', text: 'Search' },
    private_metadata: encodePage(data.shown),
    blocks,
  };
}

export function inviteForm(account: Account): ModalView {
  return {
    type: 'modal',
    callback_id: FORMS.invitePeople,
    title: { type: 'plain_text', text: 'Invite people' },
    submit: { type: 'plain_text', text: 'Send invites' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      {
        type: 'input',
        block_id: INVITEES_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'Who should join?' },
        element: {
          type: 'multi_users_select',
          action_id: INVITEES_INPUT,
          placeholder: { type: 'plain_text', text: 'Pick people' },
          max_selected_items: MAX_INVITEES,
        },
        hint: {
          type: 'plain_text',
          text: `Each person gets a personal registration link by DM and joins ${truncate(account.name ?? 'the account', 60)} as an AccountUser. Up to ${MAX_INVITEES} at once.`,
        },
      },
      {
        type: 'input',
        block_id: CHANNELS_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'And everyone in these channels' },
        element: {
          type: 'multi_conversations_select',
          action_id: CHANNELS_INPUT,
          placeholder: { type: 'plain_text', text: 'Pick channels' },
          max_selected_items: MAX_CHANNELS,
          filter: { include: ['public', 'private'], exclude_bot_users: true },
        },
        hint: {
          type: 'plain_text',
          text: `Members, guests and people with a pending invite are skipped. Past ${MAX_INVITEES} people, I count them first and ask you by DM.`,
        },
      },
    ],
  };
}

export function notice(title: string, text: string): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: truncate(title, 24) },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 2900) } }],
  };
}

export function inviteResultsView(outcomes: InviteOutcome[], head?: string): ModalView {
  const [first, ...lines] = inviteResults(outcomes).text.split('\n');
  const title = head ? `${head}\n${first}` : first;
  return {
    type: 'modal',
    callback_id: 'invite_results',
    title: { type: 'plain_text', text: 'Invites sent' },
    close: { type: 'plain_text', text: 'Done' },
    blocks: [title ?? '', ...lines]
      .slice(0, 99)
      .map((text) => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 2900) } })),
  };
}
