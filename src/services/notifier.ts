// What the domain tells people, free of Slack: the notices an operation sends, and the Notifier
// through which they reach people (src/slack implements it with direct messages).
import type { Source } from './people.js';
import type { Account, Invite, Role } from './types.js';

export type Notice =
  /** A personal invitation, to the person it is for; `url`: its link's page, when there are pages. */
  | { kind: 'invitation'; invite: Invite; url: string | null }
  /** To someone whose role an admin changed; `revokedInvites`: their links that stopped working. */
  | { kind: 'role_changed'; by: string; role: Role; revokedInvites: number }
  /** To someone an admin removed from the account. */
  | { kind: 'removed'; by: string }
  /** To the admin whose link someone used to join. */
  | { kind: 'registered'; member: string }
  /** To someone who just joined the account. */
  | { kind: 'welcome' }
  /** To an invited person whose link expires soon: the invitation again, with its Accept button. */
  | { kind: 'invitation_reminder'; invite: Invite; url: string | null }
  /** To the admin who sent an invitation that expired: its person asks for a new one. */
  | { kind: 'asked_again'; invite: Invite }
  /** To an admin, or the requests channel: someone asks for access (with Approve and Deny). */
  | { kind: 'access_request'; request: AccessRequestShown }
  /** To the admin who started a bulk invitation: where it stands (changed in place as it goes). */
  | { kind: 'bulk_progress'; progress: BulkProgress }
  /** In a channel an admin chose for access requests: that it now gets them. */
  | { kind: 'requests_channel_set'; by: string }
  /** To the person who asked: what an admin decided (with the reason given for a denial, if any). */
  | { kind: 'access_decided'; decision: 'approved' | 'denied'; by: string; reason?: string | null }
  /** To the person who asked: nobody decided in time. */
  | { kind: 'access_expired' }
  /** A copy of an access request, changed in place once it expired. */
  | { kind: 'access_request_expired'; requester: string }
  /** A copy of an access request, changed in place once decided. */
  | {
      kind: 'access_request_decided';
      requester: string;
      decision: 'approved' | 'denied';
      by: string;
      reason?: string | null;
    }
  /** An invitation's DM, changed in place: what became of the invitation. */
  | { kind: 'invitation_ended'; invite: Invite; shows: InvitationShows };

/** Why someone in a channel or group is not invited. */
export type SkipReason = 'members' | 'pending' | 'guests' | 'bots' | 'deactivated' | 'other_org' | 'unknown';

export interface Counts {
  /** People in the channels and groups (and named), once each. */
  people: number;
  toInvite: number;
  skipped: Record<SkipReason, number>;
}

export type BulkStatus = 'counted' | 'running' | 'stopping' | 'stopped' | 'done' | 'cancelled';

/** Where a bulk invitation stands: what its admin's progress message shows. */
export interface BulkProgress {
  id: number;
  createdBy: string;
  sources: Source[];
  /** People named by hand besides the channels and groups. */
  named: number;
  status: BulkStatus;
  counts: Counts;
  total: number;
  sent: number;
  /** Not delivered, by Slack's reason (their links are in the admin's list). */
  failed: Record<string, number>;
  /** Its links nobody used yet (what Revoke all would revoke). */
  unused: number;
}

/** An access request as the admins see it. */
export interface AccessRequestShown {
  id: number;
  slackUserId: string;
  reason: string | null;
  guest: boolean;
  /** The expired invitation it was asked from, when it was. */
  expiredInvite?: { createdBy: string; expiresAt: Date };
}

/**
 * What an invitation's DM shows once the invitation is no longer pending: the person joined;
 * an admin revoked it; it expired; a newer invitation replaced it; or it ended with the
 * authority behind it (its admin removed or demoted, the person deactivated in Slack).
 */
export type InvitationShows = 'joined' | 'revoked' | 'expired' | 'replaced' | 'ended';

/** Where a message the app sent is: its channel and ts, to change it in place later. */
export interface SentAt {
  channel: string;
  ts: string;
}

/** Whether a notice arrived; when not, a short, token-free reason. */
export type Delivery =
  | { ok: true; at?: SentAt }
  /**
   * `retryAfterSeconds`: Slack is rate-limiting; it said when to come back. `uncertain`: no answer
   * came (a timeout, a network error, a 5xx): Slack may have posted it all the same.
   */
  | { ok: false; error: string; retryAfterSeconds?: number; uncertain?: true };

export type FileToTell = { filename: string; title: string; comment: string } & (
  | { content: string }
  | { file: { path: string; bytes: number } }
);

export interface Notifier {
  /** Tells a person of the account's workspace; never throws (a failure is a Delivery). */
  tell(account: Account, slackUserId: string, notice: Notice): Promise<Delivery>;
  /** Posts in a channel of the account's workspace (the app must be in it); never throws. */
  post(account: Account, channel: string, notice: Notice): Promise<Delivery>;
  /**
   * One of many: a personal invitation posted straight to the person (no conversation opened
   * first, which Slack rate-limits hard), marked so `findInvitation` can find it; never throws.
   */
  tellOneOfMany(account: Account, slackUserId: string, notice: Notice & { kind: 'invitation' }): Promise<Delivery>;
  /**
   * Whether the person's DM holds the invitation `inviteId`, posted since `since` (a DM that may
   * have been under way when a process stopped): `unknown` when Slack could not say.
   */
  findInvitation(
    account: Account,
    slackUserId: string,
    inviteId: string,
    since: Date,
  ): Promise<'found' | 'absent' | 'unknown'>;
  /**
   * A file in the person's DM (a CSV), with a line about it; never throws. Its bytes are `content`
   * or the file at `file.path` (streamed: a big export is never read into memory). When Slack does
   * not take it, `fallback` (the default) DMs its first lines instead; an export says so instead.
   */
  tellFile(
    account: Account,
    slackUserId: string,
    file: FileToTell,
    options?: { fallback?: boolean },
  ): Promise<Delivery>;
  /** Changes a message sent earlier to show `notice` instead; never throws. */
  update(account: Account, at: SentAt, notice: Notice): Promise<Delivery>;
}

/** For services that tell nobody (tests of rules, tools): every notice "fails" as not sent. */
export const NOBODY: Notifier = {
  async tell() {
    return { ok: false, error: 'no notifier' };
  },
  async post() {
    return { ok: false, error: 'no notifier' };
  },
  async tellOneOfMany() {
    return { ok: false, error: 'no notifier' };
  },
  async findInvitation() {
    return 'unknown';
  },
  async tellFile() {
    return { ok: false, error: 'no notifier' };
  },
  async update() {
    return { ok: false, error: 'no notifier' };
  },
};
