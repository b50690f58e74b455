// Inviting channels and user groups: the counts the admin confirms (Invite / Cancel), and the
// progress message that keeps itself current (Stop while it runs; Revoke all once it ended).
import type { KnownBlock } from '@slack/types';
import type { BulkProgress } from '../../services/notifier.js';
import type { Counts, SkipReason } from '../../services/operations/count-invitation.js';
import type { Source } from '../../services/people.js';
import { BUTTONS } from '../operations.js';
import type { Message } from './messages.js';
import { escapeMrkdwn } from './text.js';

const n = (count: number) => count.toLocaleString('en-US');

/** A channel or group as Slack shows it (its name, to whoever may see it). */
function sourceLabel(source: Source): string {
  return source.kind === 'channel' ? `<#${source.id}>` : `<!subteam^${source.id}>`;
}

/** "#general and @support (and 2 people named)". */
export function whatIsInvited(sources: Source[], named: number): string {
  const parts = sources.map(sourceLabel);
  if (named > 0) parts.push(`${n(named)} ${named === 1 ? 'person' : 'people'} named`);
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

const SKIPPED: Record<SkipReason, [string, string]> = {
  members: ['already a member', 'already members'],
  pending: ['with a pending invite', 'with a pending invite'],
  guests: ['guest skipped', 'guests skipped'],
  bots: ['bot skipped', 'bots skipped'],
  deactivated: ['deactivated in Slack', 'deactivated in Slack'],
  other_org: ['of another organisation', 'of another organisation'],
  unknown: ['unknown to Slack', 'unknown to Slack'],
};

/** "40 already members, 9 with a pending invite, 5 guests skipped" (empty when nobody was). */
function skippedParts(counts: Counts): string[] {
  const parts: string[] = [];
  for (const [reason, [one, many]] of Object.entries(SKIPPED) as Array<[SkipReason, [string, string]]>) {
    const count = counts.skipped[reason];
    if (count > 0) parts.push(`${n(count)} ${count === 1 ? one : many}`);
  }
  return parts;
}

/** "1,180 to invite, 40 already members, 9 with a pending invite, 5 guests skipped". */
function countsLine(counts: Counts): string {
  return [`${n(counts.toInvite)} to invite`, ...skippedParts(counts)].join(', ');
}

/** "1,234 people in #general: 1,180 to invite, 40 already members, …." */
export function countsHead(sources: Source[], named: number, counts: Counts): string {
  return `${n(counts.people)} ${counts.people === 1 ? 'person' : 'people'} in ${whatIsInvited(sources, named)}: ${countsLine(counts)}.`;
}

/** The counts, and Invite / Cancel (their value: the counted invitation's id). */
export function confirmInvitation(bulkId: number, sources: Source[], named: number, counts: Counts): Message {
  const text = `${countsHead(sources, named, counts)} Invite them?`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        block_id: `bulk_confirm_${bulkId}`,
        elements: [
          {
            type: 'button',
            action_id: BUTTONS.bulkInvite,
            style: 'primary',
            text: { type: 'plain_text', text: `Invite ${n(counts.toInvite)}` },
            value: String(bulkId),
          },
          {
            type: 'button',
            action_id: BUTTONS.bulkCancel,
            text: { type: 'plain_text', text: 'Cancel' },
            value: String(bulkId),
          },
        ],
      },
    ],
  };
}

function failedLine(failed: Record<string, number>): string {
  const parts = Object.entries(failed).map(([why, count]) => `${n(count)} ${escapeMrkdwn(why)}`);
  return parts.length ? ` Not delivered: ${parts.join(', ')}.` : '';
}

/** The admin's progress message: where it stands, Stop while it runs, Revoke all once it ended. */
export function bulkProgress(progress: BulkProgress): Message {
  const what = whatIsInvited(progress.sources, progress.named);
  const done = `${n(progress.sent)} of ${n(progress.total)} invitations sent`;
  const notInvited = skippedParts(progress.counts);
  const skipped = notInvited.length ? ` Not invited: ${notInvited.join(', ')}.` : '';
  let heading: string;
  switch (progress.status) {
    case 'running':
      heading = `:outbox_tray: Inviting ${what}: ${done}.`;
      break;
    case 'stopping':
      heading = `:octagonal_sign: Stopping the invitation of ${what}: ${done}.`;
      break;
    case 'stopped':
      heading = `:octagonal_sign: Stopped the invitation of ${what}: ${done}; the links already sent still work.`;
      break;
    default:
      heading = `:white_check_mark: Invited ${what}: ${done}.`;
  }
  const ended = progress.status === 'done' || progress.status === 'stopped';
  const file = ended && Object.keys(progress.failed).length ? ' Their links are in the file I sent you.' : '';
  const text = `${heading}${failedLine(progress.failed)}${file}${skipped}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (progress.status === 'running') {
    blocks.push({
      type: 'actions',
      block_id: `bulk_stop_${progress.id}`,
      elements: [
        {
          type: 'button',
          action_id: BUTTONS.bulkStop,
          style: 'danger',
          text: { type: 'plain_text', text: 'Stop' },
          value: String(progress.id),
        },
      ],
    });
  } else if ((progress.status === 'done' || progress.status === 'stopped') && progress.unused > 0) {
    blocks.push({
      type: 'actions',
      block_id: `bulk_revoke_${progress.id}`,
      elements: [
        {
          type: 'button',
          action_id: BUTTONS.bulkRevokeAll,
          text: { type: 'plain_text', text: `Revoke all ${n(progress.unused)} unused links` },
          value: String(progress.id),
          confirm: {
            title: { type: 'plain_text', text: 'Revoke all?' },
            text: {
              type: 'mrkdwn',
              text: `The ${n(progress.unused)} links of this invitation nobody used yet stop working. People who joined stay.`,
            },
            confirm: { type: 'plain_text', text: 'Revoke all' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
      ],
    });
  }
  return { text, blocks };
}
