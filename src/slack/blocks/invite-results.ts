import { refusalText } from '../../refusal-text.js';
import type { InviteOutcome } from '../../services/operations/invite-people.js';
import type { Message } from './messages.js';
import { escapeMrkdwn, link, mention, slackDate } from './text.js';

const WHY: Record<Extract<InviteOutcome, { kind: 'not_invitable' }>['why'], string> = {
  bot: 'is a bot or app, not a person',
  deactivated: 'is deactivated in Slack',
  unknown: 'is not a Slack user I can find',
  external: 'is not in this workspace',
  lookup_failed: 'could not be looked up in Slack right now; try again',
};

/** Guests may be invited by name; the admin should know that is what they did. */
function guestNote(guest: boolean): string {
  return guest ? ' (a guest of this workspace, not a full member)' : '';
}

/** Why a cap stopped an invitation, and when invitations open again. */
export function capText(cap: { cap: 'invite_limit' | 'invitee_invite_limit'; limit: number; resetsAt: Date }): string {
  // Shown to the minute: rounded up, so that trying again at the time shown works.
  const when = slackDate(new Date(Math.ceil(cap.resetsAt.getTime() / 60_000) * 60_000));
  return cap.cap === 'invite_limit'
    ? `you reached your limit of ${cap.limit} invitations in 24 hours; you can invite again ${when}`
    : `already invited ${cap.limit} times in the last 24 hours; they can be invited again ${when}`;
}

function line(outcome: InviteOutcome): string {
  const who = mention(outcome.user);
  switch (outcome.kind) {
    case 'sent':
      return `:white_check_mark: ${who} — invited${guestNote(outcome.guest)}; registration link sent by DM${outcome.replaced ? ' (it replaces their earlier link)' : ''}, expires ${slackDate(outcome.expiresAt)}`;
    case 'dm_failed':
      return outcome.url
        ? `:warning: ${who} — invited${guestNote(outcome.guest)}, but I could not DM them (${escapeMrkdwn(outcome.error)}). Send them this link yourself: ${link(outcome.url, 'registration link')} (expires ${slackDate(outcome.expiresAt)}; for them only)`
        : `:warning: ${who} — invited${guestNote(outcome.guest)}, but I could not DM them (${escapeMrkdwn(outcome.error)}), and with no registration pages (PUBLIC_URL unset) there is no link to pass on: invite them again later`;
    case 'already_member':
      return `:information_source: ${who} — already a member; nothing sent`;
    case 'not_invitable':
      return `:x: ${who} — not invited: ${WHY[outcome.why]}`;
    case 'refused':
      return `:x: ${who} — not invited: ${escapeMrkdwn(refusalText(outcome.reason))}`;
    case 'failed':
      return `:x: ${who} — not invited: it could not be stored just now; try again in a minute`;
    case 'capped':
      return `:no_entry: ${who} — not invited: ${capText(outcome)}`;
  }
}

export function inviteResults(outcomes: InviteOutcome[]): Message {
  const invited = outcomes.filter((o) => o.kind === 'sent' || o.kind === 'dm_failed').length;
  const title = `*Invites:* ${invited} of ${outcomes.length} invited`;
  return { text: [title, ...outcomes.map(line)].join('\n') };
}
