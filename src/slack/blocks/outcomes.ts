// One renderer per operation outcome, shared by the command, the console and the Home tab, so
// the same change reads the same wherever it was made.

import { adminRefusalText, refusalText } from '../../refusal-text.js';
import type { ChangeRoleOutcome } from '../../services/operations/change-role.js';
import type { ExportOutcome } from '../../services/operations/export-data.js';
import type { InvitePage } from '../../services/operations/list-invites.js';
import type { MemberPage } from '../../services/operations/list-members.js';
import type { RemoveOutcome } from '../../services/operations/remove-member.js';
import type { RequestOutcome } from '../../services/operations/request-access.js';
import type { RevokeOutcome } from '../../services/operations/revoke-invite.js';
import type { ShareLinkOutcome } from '../../services/operations/share-link.js';
import type { Account, AuditEntry, Refused, Result, Role } from '../../services/types.js';
import { capText } from './invite-results.js';
import * as messages from './messages.js';
import { escapeMrkdwn, slackDate } from './text.js';

/** What a change comes to, in a sentence, and whether it was done (the console marks it). */
export interface Said {
  text: string;
  tone: 'done' | 'refused' | 'unchanged';
}

const MARK: Record<Said['tone'], string> = { done: ':white_check_mark: ', refused: ':x: ', unchanged: '' };

/** A change's sentence as the console's notice shows it: marked done or refused. */
export function marked(said: Said): string {
  return `${MARK[said.tone]}${said.text}`;
}

function refused(outcome: Refused): Said {
  return { text: messages.changeRefused(outcome.reason), tone: 'refused' };
}

export function roleChange(input: { user: string; role: Role }, outcome: ChangeRoleOutcome): Said {
  if (!outcome.ok) return refused(outcome);
  if (!outcome.changed) return { text: messages.roleUnchanged(input.user, input.role), tone: 'unchanged' };
  return {
    text: messages.roleChangeDone(input.user, input.role, outcome.revokedInvites, outcome.told),
    tone: 'done',
  };
}

export function removal(account: Account, input: { user: string }, outcome: RemoveOutcome): Said {
  if (!outcome.ok) return refused(outcome);
  return { text: messages.removalDone(account, input.user, outcome, outcome.told), tone: 'done' };
}

export function revocation(outcome: RevokeOutcome): Said {
  return outcome.ok ? { text: messages.revokeDone(outcome.invite), tone: 'done' } : refused(outcome);
}

export function sharedLink(account: Account, outcome: ShareLinkOutcome): messages.Message {
  if (outcome.ok) return messages.sharedLink(account, outcome.invite, outcome.url);
  if (outcome.reason === 'invite_limit' || outcome.reason === 'invitee_invite_limit') {
    return { text: `Not made: ${capText({ ...outcome, cap: outcome.reason })}.` };
  }
  return messages.plain(adminRefusalText(outcome.reason));
}

export function memberList(
  account: Account,
  outcome: Result<MemberPage>,
  pageSize: number,
  command: 'list' | 'find' = 'list',
): messages.Message {
  return outcome.ok ? messages.memberList(account, outcome, pageSize, command) : messages.refusal(outcome.reason);
}

/** The answer to `export …`, once the file is in the admin's DM (or why it is not). */
export function exported(outcome: ExportOutcome): string {
  if (!outcome.ok) return escapeMrkdwn(refusalText(outcome.reason));
  const what = outcome.what === 'members' ? 'the members' : `the audit log's last ${outcome.days} days`;
  const rows = `${outcome.rows.toLocaleString('en-US')} ${outcome.rows === 1 ? 'row' : 'rows'}`;
  return `:page_facing_up: Exported ${what} (${rows}): \`${escapeMrkdwn(outcome.filename)}\` is in your DM from the app.`;
}

export function pendingInvites(account: Account, outcome: Result<InvitePage>) {
  return outcome.ok ? messages.pendingInvites(account, outcome) : messages.refusal(outcome.reason);
}

export function auditLog(account: Account, outcome: Result<{ entries: AuditEntry[] }>): messages.Message {
  return outcome.ok ? messages.auditLog(account, outcome.entries) : messages.refusal(outcome.reason);
}

export function accessRequested(outcome: RequestOutcome): string {
  if (outcome.ok) {
    if (outcome.channel) return 'Asked: the AccountAdmins have your request. You will hear here when it is decided.';
    return outcome.adminsTold > 0
      ? `Asked: ${outcome.adminsTold === 1 ? 'an AccountAdmin has' : `${outcome.adminsTold} AccountAdmins have`} your request. You will hear here when it is decided.`
      : 'Your request is stored, but no AccountAdmin could be reached by DM just now; it stays open.';
  }
  if (outcome.reason === 'already_member') return 'You are already a member of this account: nothing to ask.';
  if (outcome.reason === 'request_denied_recently' && outcome.until) {
    return `An AccountAdmin did not approve your last request; you can ask again ${slackDate(outcome.until)}.`;
  }
  return escapeMrkdwn(refusalText(outcome.reason));
}
