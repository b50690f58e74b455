// Rows as the database gives them, turned into the domain's types.
import type { Account, AuditAction, AuditEntry, AuditSource, Invite, ListedMember, Member } from './types.js';

export type Row = Record<string, unknown>;

/** Timestamps arrive as Dates from columns and as text from JSON built in SQL. */
function date(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : date(value);
}

export function toAccount(row: Row): Account {
  return {
    id: row.id as number,
    slackTeamId: (row.slack_team_id as string | null) ?? null,
    slackEnterpriseId: (row.slack_enterprise_id as string | null) ?? null,
    isEnterpriseInstall: row.is_enterprise_install as boolean,
    name: (row.name as string | null) ?? null,
  };
}

/** The columns a list reads of a member (its page's LISTED columns), as the domain's type. */
export function toListedMember(row: Row): ListedMember {
  return {
    id: row.id as number,
    accountId: row.account_id as number,
    slackUserId: row.slack_user_id as string,
    email: (row.email as string | null) ?? null,
    displayName: (row.display_name as string | null) ?? null,
    role: row.role as Member['role'],
    status: row.status as Member['status'],
    registeredAt: date(row.registered_at),
    slackDeactivatedAt: dateOrNull(row.slack_deactivated_at),
  };
}

export function toMember(row: Row): Member {
  return {
    ...toListedMember(row),
    invitedBy: (row.invited_by as string | null) ?? null,
    inviteId: (row.invite_id as string | null) ?? null,
    removedAt: dateOrNull(row.removed_at),
    removedBy: (row.removed_by as string | null) ?? null,
  };
}

export function toInvite(row: Row): Invite {
  return {
    id: row.id as string,
    accountId: row.account_id as number,
    createdBy: row.created_by as string,
    forSlackUserId: (row.for_slack_user_id as string | null) ?? null,
    forDisplayName: (row.for_display_name as string | null) ?? null,
    role: row.role as Invite['role'],
    createdAt: date(row.created_at),
    expiresAt: date(row.expires_at),
    maxUses: (row.max_uses as number | null) ?? null,
    uses: row.uses as number,
    lastUsedAt: dateOrNull(row.last_used_at),
    revokedAt: dateOrNull(row.revoked_at),
    revokedBy: (row.revoked_by as string | null) ?? null,
    revokeReason: (row.revoke_reason as Invite['revokeReason']) ?? null,
  };
}

export function toAuditEntry(row: Row): AuditEntry {
  return {
    id: row.id as number,
    accountId: row.account_id as number,
    actor: row.actor as string,
    action: row.action as AuditAction,
    targetSlackUserId: (row.target_slack_user_id as string | null) ?? null,
    targetInviteId: (row.target_invite_id as string | null) ?? null,
    before: (row.before as Record<string, unknown> | null) ?? null,
    after: (row.after as Record<string, unknown> | null) ?? null,
    source: row.source as AuditSource,
    createdAt: date(row.created_at),
  };
}

/** The order members are listed in: by name, then by Slack id. */
export function sortNameOf(displayName: string | null | undefined, slackUserId: string): string {
  const name = displayName?.trim();
  return (name ? name : slackUserId).toLowerCase();
}
