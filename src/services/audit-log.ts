// Writing the audit log: each change's entry (in the change's transaction) and refusals.
import type { Knex } from 'knex';
import { type Db, inTransaction } from './db.js';
import type { Actor, AuditAction, AuditSource } from './types.js';

export interface AuditRecord {
  accountId: number;
  actor: string;
  action: AuditAction;
  source: AuditSource;
  targetSlackUserId?: string | null;
  targetInviteId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  at: Date;
}

export async function recordAudit(db: Db, entry: AuditRecord): Promise<void> {
  await recordAudits(db, [entry]);
}

/** Many entries in one statement (a bulk invitation's invites). */
export async function recordAudits(db: Db, entries: readonly AuditRecord[]): Promise<void> {
  if (entries.length === 0) return;
  await db('audit_log').insert(
    entries.map((entry) => ({
      account_id: entry.accountId,
      actor: entry.actor,
      action: entry.action,
      source: entry.source,
      target_slack_user_id: entry.targetSlackUserId ?? null,
      target_invite_id: entry.targetInviteId ?? null,
      before: entry.before ? JSON.stringify(entry.before) : null,
      after: entry.after ? JSON.stringify(entry.after) : null,
      created_at: entry.at,
    })),
  );
}

/** A refusal repeated within this time is not recorded again. */
export const REFUSAL_QUIET_MS = 60_000;

/**
 * Something a person was not allowed to do, in the audit log (`access.refused`). Recorded once
 * a minute at most per person and operation, so repeating a refused attempt does not flood it.
 */
export async function recordRefusal(
  knex: Knex,
  actor: Actor,
  attempt: { operation: string; reason: string; inviteId?: string; invitee?: string | null },
  at: Date,
): Promise<void> {
  await inTransaction(knex, async (trx) => {
    // One writer at a time per person and operation (any process): the check below then sees
    // the row a refusal just before this one wrote, so a quick repeat is not recorded twice.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [
      `refusal:${actor.accountId}:${actor.slackUserId}:${attempt.operation}`,
    ]);
    await trx.raw(
      `INSERT INTO audit_log (account_id, actor, action, source, target_slack_user_id, target_invite_id, after, created_at)
       SELECT :account, :actor, 'access.refused', :source, :invitee, :invite, CAST(:after AS jsonb), :at
       WHERE NOT EXISTS (
         SELECT 1 FROM audit_log
         WHERE account_id = :account AND actor = :actor AND action = 'access.refused'
           AND created_at > :since AND after->>'operation' = :operation
           AND target_invite_id IS NOT DISTINCT FROM :invite)`,
      {
        account: actor.accountId,
        actor: actor.slackUserId,
        source: actor.source,
        invitee: attempt.invitee ?? null,
        invite: attempt.inviteId ?? null,
        after: JSON.stringify({ operation: attempt.operation, reason: attempt.reason }),
        at,
        since: new Date(at.getTime() - REFUSAL_QUIET_MS),
        operation: attempt.operation,
      },
    );
  });
}
