// The App Home tab: your role (and Request access for someone who is not a member); for
// AccountAdmins also the member count, the pending invites, the access requests waiting and a
// button that opens the console.
import type { HomeView, KnownBlock } from '@slack/types';
import type { Account, Member } from '../../services/types.js';
import { BUTTONS } from '../operations.js';
import { type Asking, whoami } from './messages.js';
import { slackDate } from './text.js';

export interface HomeData {
  account: Account;
  member: Member | null;
  /** For someone who is not a member: whom to ask, and their open request. */
  asking: Asking;
  /** What is wrong with the account, when something is (no AccountAdmin can act). */
  warning?: string;
  /** For AccountAdmins only; `allowance`: their invitations left in 24 hours, when limited. */
  summary?: {
    members: number;
    pendingInvites: number;
    /** Access requests waiting for a decision. */
    openRequests: number;
    allowance?: { limit: number; left: number; resetsAt: Date | null };
  };
}

/** Below this many invitations left, an admin is told how many. */
export const FEW_INVITATIONS_LEFT = 20;

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function allowanceBlocks(allowance: NonNullable<HomeData['summary']>['allowance']): KnownBlock[] {
  if (!allowance || allowance.left >= FEW_INVITATIONS_LEFT) return [];
  const more = allowance.resetsAt ? ` More from ${slackDate(allowance.resetsAt)}.` : '';
  return [
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `:hourglass: You can send ${plural(allowance.left, 'more invitation', 'more invitations')} today (at most ${allowance.limit} in 24 hours).${more}`,
        },
      ],
    },
  ];
}

export function homeView(data: HomeData): HomeView {
  const said = whoami(data.account, data.member, data.asking, data.warning);
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'ChatBees users' } },
    // Someone who is not a member gets the Request access button with it.
    ...(said.blocks ?? [{ type: 'section', text: { type: 'mrkdwn', text: said.text } } as KnownBlock]),
  ];
  if (data.summary && data.member?.role === 'AccountAdmin') {
    blocks.push(
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Members*\n${plural(data.summary.members, 'active member', 'active members')}` },
          {
            type: 'mrkdwn',
            text: `*Pending invites*\n${plural(data.summary.pendingInvites, 'link not used yet', 'links not used yet')}`,
          },
          {
            type: 'mrkdwn',
            text: `*Access requests*\n${plural(data.summary.openRequests, 'waiting', 'waiting')}${data.summary.openRequests ? ' · `/chatbees-users requests`' : ''}`,
          },
        ],
      },
      ...allowanceBlocks(data.summary.allowance),
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: BUTTONS.openConsoleFromHome,
            text: { type: 'plain_text', text: 'Open the console' },
            style: 'primary',
          },
        ],
      },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: 'Or type `/chatbees-users` anywhere; `/chatbees-users help` lists the commands.' },
        ],
      },
    );
  } else if (data.member?.status === 'active') {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '`/chatbees-users whoami` and `/chatbees-users help` work for you too.' }],
    });
  }
  return { type: 'home', blocks };
}
