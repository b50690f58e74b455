// The product's vocabulary, free of Slack and SQL types.

export const ROLES = ['AccountAdmin', 'AccountUser'] as const;
export type Role = (typeof ROLES)[number];

/** The highest page number a list takes (a larger one is taken as this). */
export const MAX_PAGE = 1_000_000;

/** A page number as the lists take it: a whole number from 1 to MAX_PAGE, 1 when none. */
export function pageNumber(page: number | undefined): number {
  return Math.max(1, Math.min(MAX_PAGE, Math.floor(page ?? 1)));
}

/** The admin check, in TypeScript: whether an active member's role (or none) is AccountAdmin. */
export function isAdmin(role: Role | string | null | undefined): boolean {
  return role === 'AccountAdmin';
}

export type MemberStatus = 'active' | 'removed';

/** Where a change came from, as recorded in the audit log. */
export type AuditSource =
  | 'slash_command'
  | 'console'
  | 'registration_page'
  /** The Accept button of an invitation DM. */
  | 'invitation_dm'
  | 'bootstrap'
  | 'slack_event'
  | 'app_home'
  | 'slack_install'
  /** A bulk invitation's job, on behalf of the admin who started it. */
  | 'bulk_invitation';

export interface Account {
  id: number;
  slackTeamId: string | null;
  slackEnterpriseId: string | null;
  isEnterpriseInstall: boolean;
  name: string | null;
}

export interface Member {
  id: number;
  accountId: number;
  slackUserId: string;
  email: string | null;
  displayName: string | null;
  role: Role;
  status: MemberStatus;
  registeredAt: Date;
  invitedBy: string | null;
  inviteId: string | null;
  removedAt: Date | null;
  removedBy: string | null;
  /** Deactivated in Slack but kept, as the account's last AccountAdmin able to act. */
  slackDeactivatedAt: Date | null;
}

/** A member as a list shows them (active members: nothing of removal; not how they joined). */
export type ListedMember = Omit<Member, 'invitedBy' | 'inviteId' | 'removedAt' | 'removedBy'>;

export type InviteState = 'pending' | 'expired' | 'revoked' | 'used';

export interface Invite {
  id: string;
  accountId: number;
  createdBy: string;
  /** The Slack user the invite is for; null when anyone with the link may use it. */
  forSlackUserId: string | null;
  /** The invitee's name as Slack gave it when the invite was made. */
  forDisplayName: string | null;
  role: Role;
  createdAt: Date;
  expiresAt: Date;
  /** Null: no cap. */
  maxUses: number | null;
  uses: number;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  revokeReason: RevokeReason | null;
}

/**
 * Why an invite stopped working before its time: an admin revoked it, a newer invite of the same
 * person replaced it, or it ended with the authority behind it (the admin who made it was
 * removed or demoted; the person it was for was removed, or deactivated in Slack).
 */
export type RevokeReason =
  | 'revoked'
  | 'replaced'
  | 'inviter_removed'
  | 'inviter_demoted'
  | 'invitee_removed'
  | 'invitee_deactivated';

export interface AuditEntry {
  id: number;
  accountId: number;
  actor: string;
  action: AuditAction;
  targetSlackUserId: string | null;
  targetInviteId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: AuditSource;
  createdAt: Date;
}

export type AuditAction =
  | 'member.bootstrapped'
  | 'member.registered'
  | 'member.role_changed'
  | 'member.removed'
  | 'member.kept_deactivated'
  | 'invite.created'
  | 'invite.revoked'
  | 'invite.bulk_started'
  | 'invite.bulk_stopped'
  | 'invite.bulk_revoked'
  | 'access.refused'
  | 'access.denied'
  | 'access.requests_channel'
  | 'members.exported'
  | 'audit.exported'
  | 'app.installed'
  | 'app.uninstalled';

/** Who asks: a Slack user of an account, and through which surface. */
export interface Actor {
  accountId: number;
  slackUserId: string;
  source: AuditSource;
}

/** Profile facts the caller learnt from Slack, stored for display. */
export interface Profile {
  displayName?: string | null;
  email?: string | null;
}

/**
 * Every reason a service refuses. The Slack and web layers turn these into words in one
 * place, so the command, the console and the pages say the same thing.
 */
export type Refusal =
  | 'not_in_channel'
  | 'channel_not_found'
  | 'channel_archived'
  | 'not_member'
  | 'not_admin'
  | 'last_admin'
  | 'unknown_member'
  | 'already_member'
  | 'invite_unknown'
  | 'invite_expired'
  | 'invite_revoked'
  | 'invite_replaced'
  | 'invite_used'
  | 'identity_required'
  | 'wrong_person'
  | 'wrong_account'
  /** The admin who made the link cannot invite any more (removed, demoted, deactivated in Slack). */
  | 'inviter_cannot_invite'
  /** Multi-workspace mode: the app is not installed in the link's workspace now. */
  | 'app_not_installed'
  /** The person is not (or no longer) an active person of the account's workspace or org. */
  | 'not_in_workspace'
  /** A guest of the workspace tried a link for anyone: guests need a personal invite. */
  | 'guest_needs_personal_invite'
  /** Slack did not answer in time a question the rule depends on: try again; nothing changed. */
  | 'slack_unavailable'
  /** The admin made as many invitations as they may in 24 hours. */
  | 'invite_limit'
  /** This person was invited as often as anyone may in 24 hours. */
  | 'invitee_invite_limit'
  /** Links for anyone are pages, and the app serves none (Socket Mode without PUBLIC_URL). */
  | 'no_pages'
  /** The person's access request is still open. */
  | 'request_open'
  /** An admin denied the person's last request less than 24 hours ago. */
  | 'request_denied_recently'
  | 'request_unknown'
  /** Another admin decided this access request first. */
  | 'request_decided'
  /** A channel the app cannot see (private, the app not in it) or no such channel or user group. */
  | 'source_not_found'
  /** The installation lacks a scope this needs: reinstalling the app grants it. */
  | 'missing_scope'
  /** The app may not upload files in this workspace (no files:write): reinstall. */
  | 'files_not_allowed'
  /** Slack did not take the file (an export): nothing was shared. */
  | 'file_not_delivered'
  /** The bulk invitation is not in a state for this (already started, cancelled, finished). */
  | 'bulk_not_counted'
  | 'bulk_unknown'
  /** Another bulk invitation of the account is running: one at a time. */
  | 'bulk_running';

export type Refused<R extends Refusal = Refusal> = { ok: false; reason: R };
export type Result<T extends object, R extends Refusal = Refusal> = ({ ok: true } & T) | Refused<R>;

export function refuse<R extends Refusal>(reason: R): Refused<R> {
  return { ok: false, reason };
}
