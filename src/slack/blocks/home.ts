// The App Home tab: your role; for AccountAdmins also the member count, the pending invites
// and a button that opens the console.
import type { HomeView, KnownBlock } from '@slack/types';
import type { Account, Member } from '../../services/types.js';
import { whoami } from './messages.js';

export const OPEN_CONSOLE_FROM_HOME = 'home_open_console';

export interface HomeData {
  account: Account;
  member: Member | null;
  /** Admins to ask, for someone who is not a member. */
  admins: string[];
  /** What is wrong with the account, when something is (no AccountAdmin can act). */
  warning?: string;
  /** For AccountAdmins only. */
  summary?: { members: number; pendingInvites: number };
}

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export function homeView(data: HomeData): HomeView {
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'ChatBees users' } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: whoami(data.account, data.member, data.admins, data.warning).text },
    },
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
        ],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: OPEN_CONSOLE_FROM_HOME,
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
