// Access requests as the admins see them (a copy in a DM or the requests channel, the `requests`
// list): who asks, what else to know, Approve and Deny; and where requests go.
import type { KnownBlock, ModalView } from '@slack/types';
import { refusalText } from '../../refusal-text.js';
import type { AccessRequestShown } from '../../services/notifier.js';
import type { OpenRequest } from '../../services/operations/list-requests.js';
import type { ChannelOutcome } from '../../services/operations/requests-channel.js';
import type { Account, Result } from '../../services/types.js';
import { BUTTONS, FORMS } from '../operations.js';
import { accountName, type Message, refusal } from './messages.js';
import { escapeMrkdwn, mention, slackDate } from './text.js';

/** Who asks: the person, and whether they are a guest. */
export function requestLine(request: AccessRequestShown): string {
  return `${mention(request.slackUserId)}${request.guest ? ' (a guest of this workspace, not a full member)' : ''}`;
}

/** What else the admins should know: the expired invitation it came from, the reason given. */
export function requestDetails(request: AccessRequestShown): string {
  const invite = request.expiredInvite
    ? ` Their invitation from ${mention(request.expiredInvite.createdBy)} expired ${slackDate(request.expiredInvite.expiresAt)}.`
    : '';
  const reason = request.reason ? `\n>${escapeMrkdwn(request.reason).replace(/\n/g, ' ')}` : '';
  return `${invite}${reason}`;
}

/** Approve and Deny for one request (its id is the buttons' value). */
export function decisionButtons(requestId: number, blockId: string): KnownBlock {
  return {
    type: 'actions',
    block_id: blockId,
    elements: [
      {
        type: 'button',
        action_id: BUTTONS.approveRequest,
        text: { type: 'plain_text', text: 'Approve' },
        style: 'primary',
        value: String(requestId),
      },
      {
        type: 'button',
        action_id: BUTTONS.denyRequest,
        text: { type: 'plain_text', text: 'Deny' },
        value: String(requestId),
      },
    ],
  };
}

/** The open requests, oldest first, each with Approve and Deny. */
export function requestsList(account: Account, outcome: Result<{ requests: OpenRequest[]; open: number }>): Message {
  if (!outcome.ok) return refusal(outcome.reason);
  const { requests, open } = outcome;
  if (requests.length === 0) {
    return { text: `No access requests are waiting in *${accountName(account)}*.` };
  }
  const more = open > requests.length ? ` (the oldest ${requests.length} here)` : '';
  const heading = `*${open} access request${open === 1 ? '' : 's'} waiting* in *${accountName(account)}*${more}:`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: heading } }];
  const lines = [heading];
  for (const request of requests) {
    const line = `${requestLine(request)}, asked ${slackDate(request.createdAt)}.${requestDetails(request)}`;
    lines.push(line);
    blocks.push(
      { type: 'section', block_id: `request_${request.id}`, text: { type: 'mrkdwn', text: line } },
      decisionButtons(request.id, `decide_${request.id}`),
    );
  }
  return { text: lines.join('\n'), blocks };
}

/** Where requests go, after `requests channel` (shown or changed). */
export function requestsChannel(outcome: ChannelOutcome): string {
  if (!outcome.ok) return escapeMrkdwn(refusalText(outcome.reason));
  const { place, changed } = outcome;
  const where = place.channel
    ? `Access requests go to <#${place.channel}>${place.chosen ? '' : ' (the default, ACCESS_REQUESTS_CHANNEL)'}, where any AccountAdmin can approve or deny them.`
    : 'Access requests go by DM to each AccountAdmin who can act (at most 20).';
  if (!changed) return `${where} Change it with \`/chatbees-users requests channel #channel\` (or \`off\` for DMs).`;
  return `:white_check_mark: ${where}`;
}

export const DENY_REASON_BLOCK = 'deny_reason';
export const DENY_REASON_INPUT = 'deny_reason_text';

/** Deny's form: an optional reason, passed on to the person. The request id rides in its metadata. */
export function denyForm(account: Account, requestId: number, requester: string, maxReason: number): ModalView {
  return {
    type: 'modal',
    callback_id: FORMS.denyRequest,
    private_metadata: String(requestId),
    title: { type: 'plain_text', text: 'Deny access request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `Deny ${mention(requester)}'s request for access to *${accountName(account)}*? They are told, politely, and can ask again in 24 hours.`,
        },
      },
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (they will see it)' },
        element: {
          type: 'plain_text_input',
          action_id: DENY_REASON_INPUT,
          multiline: true,
          max_length: maxReason,
        },
      },
    ],
  };
}

/** What a decision pressed too late (or refused) is answered with. */
export function decisionRefused(outcome: {
  reason: Parameters<typeof refusalText>[0];
  decided?: { decision: string; by: string | null };
}): string {
  if (outcome.reason === 'request_decided' && outcome.decided) {
    const by = outcome.decided.by ? ` by ${mention(outcome.decided.by)}` : '';
    return `Already ${escapeMrkdwn(outcome.decided.decision)}${by}: nothing changed.`;
  }
  return escapeMrkdwn(refusalText(outcome.reason));
}

/** Told to the admin who decided, where no copy changes in place to show it (the `requests` list). */
export function decisionDone(decision: 'approved' | 'denied', requester: string): string {
  return decision === 'approved'
    ? `:white_check_mark: Approved: ${mention(requester)} is now an AccountUser, and was told.`
    : `Denied: ${mention(requester)} was told, and can ask again in 24 hours.`;
}
