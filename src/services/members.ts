import type { Knex } from 'knex';
import { recordAudit } from './audit-log.js';
import {
  countUsableAdmins,
  findMember,
  IS_ADMIN_SQL,
  isLastAdmin,
  lockAccount,
  OPEN_REQUESTS_SQL,
  readAsAdmin,
  usableInvite,
} from './checks.js';
import { inTransaction } from './db.js';
import type { Jobs } from './jobs.js';
import { endInvites, grantAdmin, removeMember } from './membership.js';
import type { Actor, Profile, Result } from './types.js';

/** The actor named in the audit log for what Slack itself did (a deactivation). */
export const SLACK_ACTOR = 'Slack';

export class MemberService {
  constructor(private readonly deps: { knex: Knex; now: () => Date; jobs: Jobs }) {}

  /**
   * Makes the given Slack users AccountAdmins, but only while the account has no active
   * AccountAdmin: a restart with INITIAL_ADMINS still set never undoes a later demotion.
   */
  async bootstrapAdmins(
    accountId: number,
    people: ReadonlyArray<{ slackUserId: string } & Profile>,
  ): Promise<{ promoted: string[] }> {
    if (people.length === 0) return { promoted: [] };
    return inTransaction(this.deps.knex, async (trx) => {
      if (!(await lockAccount(trx, accountId))) throw new Error(`account ${accountId} does not exist`);
      // Admins deactivated in Slack cannot act: with only those left, the operator's list applies.
      if ((await countUsableAdmins(trx, accountId)) > 0) return { promoted: [] };
      const now = this.deps.now();
      for (const person of people) {
        await grantAdmin(trx, accountId, person, { actor: 'system', source: 'bootstrap', at: now });
      }
      return { promoted: people.map((p) => p.slackUserId) };
    });
  }

  /**
   * Slack deactivated this person: they leave the account (audited, actor "Slack"), unless they
   * are its last AccountAdmin able to act, who stays, marked, so the account keeps an admin.
   * Invites addressed to them stop working, whether or not they were a member. Safe to repeat
   * (Slack may deliver the event again).
   */
  async deactivatedInSlack(
    accountId: number,
    slackUserId: string,
  ): Promise<{ outcome: 'removed' | 'kept_last_admin' | 'already_kept' | 'not_member'; invitesEnded: number }> {
    return inTransaction(this.deps.knex, async (trx) => {
      await lockAccount(trx, accountId);
      const member = await findMember(trx, accountId, slackUserId);
      const now = this.deps.now();
      // Kept until Slack reactivates them: a registration through a link for anyone, which has
      // no invite to revoke, checks this under the same lock.
      await trx('slack_deactivations')
        .insert({ account_id: accountId, slack_user_id: slackUserId, deactivated_at: now })
        .onConflict(['account_id', 'slack_user_id'])
        .ignore();
      if (member?.status !== 'active') {
        const ended = await endInvites(trx, accountId, { forSlackUserId: slackUserId }, 'invitee_deactivated', {
          actor: SLACK_ACTOR,
          at: now,
          jobs: this.deps.jobs,
        });
        for (const inviteId of ended) {
          await recordAudit(trx, {
            accountId,
            actor: SLACK_ACTOR,
            source: 'slack_event',
            action: 'invite.revoked',
            targetSlackUserId: slackUserId,
            targetInviteId: inviteId,
            before: { state: 'pending' },
            after: { state: 'revoked', reason: 'invitee_deactivated' },
            at: now,
          });
        }
        return { outcome: 'not_member', invitesEnded: ended.length };
      }
      const lastAdmin = await isLastAdmin(trx, member);
      if (lastAdmin) {
        if (member.slackDeactivatedAt) return { outcome: 'already_kept', invitesEnded: 0 };
        await trx('members').where({ id: member.id }).update({ slack_deactivated_at: now, updated_at: now });
        await recordAudit(trx, {
          accountId,
          actor: SLACK_ACTOR,
          source: 'slack_event',
          targetSlackUserId: slackUserId,
          at: now,
          action: 'member.kept_deactivated',
          before: { status: 'active', role: member.role },
          after: { status: 'active', role: member.role, deactivatedInSlack: true },
        });
        return { outcome: 'kept_last_admin', invitesEnded: 0 };
      }
      // Not (or no longer) the last admin who can act: a kept admin goes now too.
      const removed = await removeMember(trx, member, {
        actor: SLACK_ACTOR,
        source: 'slack_event',
        at: now,
        jobs: this.deps.jobs,
        deactivatedInSlack: true,
      });
      return { outcome: 'removed', invitesEnded: removed.invitesForThem.length };
    });
  }

  /**
   * Slack reactivated this person. A kept admin is no longer marked; someone removed stays
   * removed: coming back to Slack does not register anyone.
   */
  async reactivatedInSlack(accountId: number, slackUserId: string): Promise<{ unmarked: boolean }> {
    return inTransaction(this.deps.knex, async (trx) => {
      // Under the account's lock, so it cannot interleave with a deactivation of the same person.
      await lockAccount(trx, accountId);
      await trx('slack_deactivations').where({ account_id: accountId, slack_user_id: slackUserId }).del();
      const cleared = await trx('members')
        .where({ account_id: accountId, slack_user_id: slackUserId, status: 'active' })
        .whereNotNull('slack_deactivated_at')
        .update({ slack_deactivated_at: null, updated_at: this.deps.now() });
      return { unmarked: Number(cleared) > 0 };
    });
  }

  /** For admins: how many active members and usable invites the account has (the App Home). */
  async summary(
    actor: Actor,
  ): Promise<Result<{ members: number; pendingInvites: number; openRequests: number }, 'not_member' | 'not_admin'>> {
    const read = await readAsAdmin(
      this.deps.knex,
      'account_summary',
      `SELECT a.active_members AS members,
         (SELECT count(*)::int FROM invites i WHERE i.account_id = $1 AND ${usableInvite('i', '$3')}) AS pending_invites,
         ${OPEN_REQUESTS_SQL} AS open_requests
       FROM accounts a WHERE a.id = $1 AND ${IS_ADMIN_SQL}`,
      ['members', 'pending_invites', 'open_requests'],
      'chunk.members',
      actor,
      [this.deps.now()],
    );
    if (!read.ok) return read;
    const [row] = read.rows;
    return {
      ok: true,
      members: Number(row?.members ?? 0),
      pendingInvites: Number(row?.pending_invites ?? 0),
      openRequests: Number(row?.open_requests ?? 0),
    };
  }

  /**
   * Some of the account's active AccountAdmins, for telling people whom to ask: only those who
   * can act, unless `includeDeactivated` (to reach every admin, as when the last one is kept).
   */
  async activeAdmins(
    accountId: number,
    limit: number,
    options: { includeDeactivated?: boolean } = {},
  ): Promise<string[]> {
    const query = this.deps.knex('members').where({ account_id: accountId, status: 'active', role: 'AccountAdmin' });
    if (!options.includeDeactivated) query.whereNull('slack_deactivated_at');
    return query.orderBy('registered_at').limit(limit).pluck('slack_user_id');
  }
}
