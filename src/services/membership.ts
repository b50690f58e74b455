// Changes to membership shared by several operations: ending invites with the authority behind
// them, removing a member, granting the admin role (INITIAL_ADMINS, installs).
import type { Knex } from 'knex';
import { recordAudit } from './audit-log.js';
import { findMember, usableInvite } from './checks.js';
import { JOB, type Jobs } from './jobs.js';
import { type Row, sortNameOf, toMember } from './rows.js';
import type { AuditSource, Member, Profile, RevokeReason, Role } from './types.js';

/**
 * Ends the invites that could still be used and that were made by, or are for, one person (the
 * authority behind them ended), or that one bulk invitation made (its admin revoked them all). Returns their ids; used-up and expired ones keep their story.
 */
export async function endInvites(
  trx: Knex.Transaction,
  accountId: number,
  whose: { createdBy: string } | { forSlackUserId: string } | { bulkId: number },
  reason: RevokeReason,
  by: { actor: string; at: Date; jobs: Jobs },
): Promise<string[]> {
  const where =
    'createdBy' in whose
      ? { created_by: whose.createdBy }
      : 'forSlackUserId' in whose
        ? { for_slack_user_id: whose.forSlackUserId }
        : { bulk_id: whose.bulkId };
  const ended: Array<{ id: string }> = await trx('invites')
    .where({ account_id: accountId, ...where })
    .whereRaw(usableInvite('invites', '?'), [by.at])
    .update({ revoked_at: by.at, revoked_by: by.actor, revoke_reason: reason })
    .returning('id');
  // Their DMs say so, once this commits.
  for (const { id } of ended) await by.jobs.later(trx, JOB.invitationDm, { inviteId: id });
  return ended.map((r) => r.id);
}

/**
 * Soft-deletes an active member, with its audit entry: one place for a removal by an admin and
 * by Slack (a deactivation). What their access carried ends with it: the links they made, and
 * any invite still addressed to them (they may have joined another way).
 */
export async function removeMember(
  trx: Knex.Transaction,
  member: Member,
  by: { actor: string; source: AuditSource; at: Date; jobs: Jobs; deactivatedInSlack?: boolean },
): Promise<{ row: Row; revokedInvites: string[]; invitesForThem: string[] }> {
  const [row] = await trx('members')
    .where({ id: member.id })
    .update({
      status: 'removed',
      removed_at: by.at,
      removed_by: by.actor,
      slack_deactivated_at: null,
      updated_at: by.at,
    })
    .returning('*');
  const revokedInvites = await endInvites(
    trx,
    member.accountId,
    { createdBy: member.slackUserId },
    'inviter_removed',
    by,
  );
  const invitesForThem = await endInvites(
    trx,
    member.accountId,
    { forSlackUserId: member.slackUserId },
    by.deactivatedInSlack ? 'invitee_deactivated' : 'invitee_removed',
    by,
  );
  await recordAudit(trx, {
    accountId: member.accountId,
    actor: by.actor,
    action: 'member.removed',
    source: by.source,
    targetSlackUserId: member.slackUserId,
    before: { status: 'active', role: member.role },
    after: {
      status: 'removed',
      revokedInvites,
      ...(invitesForThem.length ? { revokedInvitesForThem: invitesForThem } : {}),
      ...(by.deactivatedInSlack ? { deactivatedInSlack: true } : {}),
    },
    at: by.at,
  });
  return { row: row as Row, revokedInvites, invitesForThem };
}

/**
 * Makes a person an active AccountAdmin (registering them if they never were a member), with
 * its audit entry: for the operator's INITIAL_ADMINS and for whoever installs the app.
 */
export async function grantAdmin(
  trx: Knex.Transaction,
  accountId: number,
  person: { slackUserId: string } & Profile,
  by: { actor: string; source: AuditSource; at: Date },
): Promise<void> {
  const before = await findMember(trx, accountId, person.slackUserId);
  await trx('members')
    .insert({
      account_id: accountId,
      slack_user_id: person.slackUserId,
      display_name: person.displayName ?? null,
      email: person.email ?? null,
      sort_name: sortNameOf(person.displayName, person.slackUserId),
      role: 'AccountAdmin',
      status: 'active',
      registered_at: by.at,
      updated_at: by.at,
    })
    .onConflict(['account_id', 'slack_user_id'])
    .merge({
      role: 'AccountAdmin',
      status: 'active',
      removed_at: null,
      removed_by: null,
      slack_deactivated_at: null,
      updated_at: by.at,
    });
  await recordAudit(trx, {
    accountId,
    actor: by.actor,
    action: 'member.bootstrapped',
    source: by.source,
    targetSlackUserId: person.slackUserId,
    before: before ? { status: before.status, role: before.role } : null,
    after: { status: 'active', role: 'AccountAdmin' },
    at: by.at,
  });
}

/**
 * The person as an active member of the account: a new member, or a removed one afresh (the audit
 * log keeps the past). Through an invite (`inviteId`) or an approved access request.
 */
export async function makeMember(
  trx: Knex.Transaction,
  accountId: number,
  slackUserId: string,
  how: { role: Role; invitedBy: string; inviteId: string | null },
  profile: { displayName: string | null; email: string | null },
  now: Date,
): Promise<Member> {
  const registration = {
    display_name: profile.displayName ?? null,
    email: profile.email ?? null,
    sort_name: sortNameOf(profile.displayName, slackUserId),
    role: how.role,
    status: 'active',
    registered_at: now,
    invited_by: how.invitedBy,
    invite_id: how.inviteId,
    removed_at: null,
    removed_by: null,
    slack_deactivated_at: null,
    updated_at: now,
  };
  const [row] = await trx('members')
    .insert({ account_id: accountId, slack_user_id: slackUserId, ...registration })
    .onConflict(['account_id', 'slack_user_id'])
    .merge(registration)
    .returning('*');
  return toMember(row);
}
