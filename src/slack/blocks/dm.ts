// Direct messages the bot sends to people: invitations and notices of changes.
import type { Button, KnownBlock } from '@slack/types';
import type { AccessRequestShown, InvitationShows } from '../../services/notifier.js';
import type { Account, Invite, Role } from '../../services/types.js';
import { BUTTONS } from '../operations.js';
import { accountName, type Message, requestAccessBlock } from './messages.js';
import { decisionButtons, requestDetails, requestLine } from './requests.js';
import { escapeMrkdwn, link, mention, slackDate } from './text.js';

/**
 * A personal invitation: Accept (Slack says who presses it) and, when the app serves pages, the
 * link to its page as well.
 */
export function invitation(account: Account, invite: Invite, url: string | null): Message {
  const name = accountName(account);
  const expires = slackDate(invite.expiresAt);
  const text =
    `${mention(invite.createdBy)} invited you to join *${name}* on ChatBees as an AccountUser. ` +
    (url
      ? `Press Accept, or open your registration link and confirm: ${link(url, `join ${account.name ?? 'the account'}`)}. It is for you only and expires ${expires}.`
      : `Press Accept to join. The invitation is for you only and expires ${expires}.`);
  const buttons: Button[] = [
    {
      type: 'button',
      action_id: BUTTONS.acceptInvitation,
      text: { type: 'plain_text', text: 'Accept' },
      style: 'primary',
      value: invite.id,
    },
  ];
  if (url) {
    buttons.push({
      type: 'button',
      action_id: BUTTONS.openRegistrationLink,
      text: { type: 'plain_text', text: 'Open the link' },
      url,
    });
  }
  const note = url
    ? `*Accept* makes you a member now. The link is for you only: don't forward it. It expires ${expires}; its page asks you to confirm before anything happens.`
    : `*Accept* makes you a member now. This invitation is for you only; it expires ${expires}.`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${mention(invite.createdBy)} invited you to join *${name}* on ChatBees as an *AccountUser*.`,
        },
      },
      { type: 'actions', block_id: 'registration', elements: buttons },
      { type: 'context', elements: [{ type: 'mrkdwn', text: note }] },
    ],
  };
}

export function roleChanged(account: Account, by: string, role: Role, revokedInvites = 0): Message {
  const powers =
    role === 'AccountAdmin'
      ? 'You can now invite people, change roles and remove members with `/chatbees-users`.'
      : 'You now have read-only access.';
  const ended = revokedInvites
    ? ` The ${revokedInvites === 1 ? 'registration link' : `${revokedInvites} registration links`} you made stopped working.`
    : '';
  return { text: `${mention(by)} made you an *${role}* of *${accountName(account)}* on ChatBees. ${powers}${ended}` };
}

export function removed(account: Account, by: string): Message {
  return {
    text: `${mention(by)} removed you from *${accountName(account)}* on ChatBees. If this is a mistake, ask an AccountAdmin for a new invite.`,
  };
}

export function registeredToInviter(account: Account, member: string): Message {
  return { text: `${mention(member)} accepted your invite and is now an AccountUser of *${accountName(account)}*.` };
}

export function welcome(account: Account): Message {
  return {
    text: `Welcome to *${accountName(account)}* on ChatBees! You are an *AccountUser* (read-only). Type \`/chatbees-users whoami\` any time to see your role.`,
  };
}

/** To someone who just joined the Slack workspace: how to get into the ChatBees account. */
export function joinedWorkspace(account: Account, admins: string[]): Message {
  const ask = admins.length ? `an AccountAdmin (${admins.map(mention).join(', ')})` : 'an AccountAdmin';
  const text = `Welcome! This workspace uses ChatBees, and *${accountName(account)}* is its account there. To get access, press *Request access* or ask ${ask} for an invite; \`/chatbees-users whoami\` shows where you stand.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, requestAccessBlock()] };
}

/** To the account's admins when Slack deactivated its last AccountAdmin able to act. */
export function lastAdminDeactivated(account: Account, admin: string, newAdminHint: string): Message {
  return {
    text: `${mention(admin)} was deactivated in Slack but stays an AccountAdmin of *${accountName(account)}*: the account has no other AccountAdmin who can act. ${newAdminHint} That admin can then remove ${mention(admin)}.`,
  };
}

/** The invitation DM once its person joined (from the DM itself): no buttons left to press. */
export function invitationAccepted(account: Account, alreadyMember: boolean): Message {
  const text = alreadyMember
    ? `You are already a member of *${accountName(account)}* on ChatBees: nothing changed.`
    : `:white_check_mark: You joined *${accountName(account)}* on ChatBees as an *AccountUser* (read-only). Type \`/chatbees-users whoami\` any time to see your role.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

const ENDED: Record<InvitationShows, string> = {
  joined: 'You joined; this invitation is used. Type `/chatbees-users whoami` any time to see your role.',
  revoked: 'An AccountAdmin revoked this invitation: its link and its Accept button no longer work.',
  expired:
    'This invitation expired: its link and its Accept button no longer work. Ask for a new one, or request access from any AccountAdmin.',
  replaced: 'A newer invitation replaced this one: use the newer message.',
  ended:
    'This invitation no longer works: the AccountAdmin who sent it can no longer invite, or you are no longer in the workspace.',
};

/** An invitation DM changed in place once the invitation ended: what became of it, no buttons. */
export function invitationEnded(account: Account, invite: Invite, shows: InvitationShows): Message {
  const text = `Invitation from ${mention(invite.createdBy)} to join *${accountName(account)}* on ChatBees — ${ENDED[shows]}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (shows === 'expired') {
    blocks.push({
      type: 'actions',
      block_id: 'ask_again',
      elements: [
        {
          type: 'button',
          action_id: BUTTONS.askAgain,
          text: { type: 'plain_text', text: 'Ask for a new invitation' },
          value: invite.id,
        },
        // To every AccountAdmin (or the requests channel), naming this invitation.
        {
          type: 'button',
          action_id: BUTTONS.requestAccess,
          text: { type: 'plain_text', text: 'Request access' },
          value: `invite:${invite.id}`,
        },
      ],
    });
  }
  return { text, blocks };
}

/** To the admin whose invitation expired, when its person asks for a new one. */
export function askedAgain(account: Account, invite: Invite): Message {
  const who = mention(invite.forSlackUserId ?? '');
  const text = `${who} asks for a new invitation to *${accountName(account)}*: the one you sent expired ${slackDate(invite.expiresAt)}.`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        block_id: 'invite_again',
        elements: [
          {
            type: 'button',
            action_id: BUTTONS.inviteAgain,
            text: { type: 'plain_text', text: 'Invite again' },
            style: 'primary',
            value: invite.id,
          },
        ],
      },
    ],
  };
}

/** The invitation again, shortly before its link expires: the same buttons, and when. */
export function invitationReminder(account: Account, invite: Invite, url: string | null): Message {
  const sent = invitation(account, invite, url);
  const heading = `:hourglass_flowing_sand: *Reminder:* your invitation to *${accountName(account)}* expires ${slackDate(invite.expiresAt)}.`;
  return {
    text: `Reminder: ${sent.text}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: heading } }, ...(sent.blocks ?? [])],
  };
}

/** To an admin or the requests channel: someone asks for access. */
export function accessRequest(account: Account, request: AccessRequestShown): Message {
  const text = `${requestLine(request)} asks for access to *${accountName(account)}* on ChatBees.${requestDetails(request)}`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      decisionButtons(request.id, `access_request_${request.id}`),
    ],
  };
}

/** Posted in the channel an admin chose for access requests. */
export function requestsChannelSet(account: Account, by: string): Message {
  return {
    text: `${mention(by)} chose this channel for access requests to *${accountName(account)}* on ChatBees: each one will show here with Approve and Deny, for the AccountAdmins.`,
  };
}

/** To the person who asked. */
export function accessDecided(
  account: Account,
  decision: 'approved' | 'denied',
  by: string,
  reason?: string | null,
): Message {
  if (decision === 'approved') {
    return {
      text: `${mention(by)} approved your request: you are now an *AccountUser* of *${accountName(account)}* on ChatBees. Type \`/chatbees-users whoami\` any time to see your role.`,
    };
  }
  const why = reason ? ` They said:\n>${escapeMrkdwn(reason).replace(/\n/g, ' ')}\n` : ' ';
  return {
    text: `${mention(by)} did not approve your request for access to *${accountName(account)}* this time.${why}You can ask again in 24 hours.`,
  };
}

/** To the person who asked, when nobody decided in time. */
export function accessExpired(account: Account): Message {
  return {
    text: `Your request for access to *${accountName(account)}* on ChatBees expired before an AccountAdmin decided. You can ask again with \`/chatbees-users request\`.`,
  };
}

/** A copy of an access request once decided (who decided what) or expired: no buttons. */
export function accessRequestDecided(
  requester: string,
  decision: 'approved' | 'denied' | 'expired',
  by?: string,
  reason?: string | null,
): Message {
  const why = reason ? `\n>${escapeMrkdwn(reason).replace(/\n/g, ' ')}` : '';
  const text =
    decision === 'expired'
      ? `${mention(requester)}'s access request expired: nobody decided in 7 days.`
      : `${mention(requester)}'s access request: ${decision} by ${mention(by ?? '')}.${why}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
