import type { Knex } from 'knex';
import { inTransaction, readAsAdmin, toAuditEntry } from './store.js';
import type { Actor, AuditEntry, Result } from './types.js';

export const MAX_AUDIT_ENTRIES = 50;
/** A refusal repeated within this time is not recorded again. */
export const REFUSAL_QUIET_MS = 60_000;

export class AuditService {
  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /** The latest changes in the account, newest first. */
  async latest(actor: Actor, limit: number): Promise<Result<{ entries: AuditEntry[] }, 'not_member' | 'not_admin'>> {
    // Refused attempts are recorded too, but they are not changes: the list leaves them out.
    const read = await readAsAdmin(
      this.deps.knex,
      'audit_latest',
      `SELECT l.* FROM audit_log l
       WHERE l.account_id = $1 AND l.action <> 'access.refused' AND EXISTS (SELECT 1 FROM me WHERE role = 'AccountAdmin')
       ORDER BY l.id DESC LIMIT $3`,
      'chunk.id DESC',
      actor,
      [Math.max(1, Math.min(MAX_AUDIT_ENTRIES, Math.floor(limit)))],
    );
    return read.ok ? { ok: true, entries: read.rows.map(toAuditEntry) } : read;
  }

  /**
   * An admin operation someone was not allowed to make. Recorded once a minute at most per
   * person and operation, so repeating a refused command does not flood the log.
   */
  async recordRefusal(actor: Actor, attempt: { operation: string; reason: string }): Promise<void> {
    const at = this.deps.now();
    await inTransaction(this.deps.knex, async (trx) => {
      // One writer at a time per person and operation (any process): the check below then sees
      // the row a refusal just before this one wrote, so a quick repeat is not recorded twice.
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [
        `refusal:${actor.accountId}:${actor.slackUserId}:${attempt.operation}`,
      ]);
      await trx.raw(
        `INSERT INTO audit_log (account_id, actor, action, source, after, created_at)
       SELECT :account, :actor, 'access.refused', :source, CAST(:after AS jsonb), :at
       WHERE NOT EXISTS (
         SELECT 1 FROM audit_log
         WHERE account_id = :account AND actor = :actor AND action = 'access.refused'
           AND created_at > :since AND after->>'operation' = :operation)`,
        {
          account: actor.accountId,
          actor: actor.slackUserId,
          source: actor.source,
          after: JSON.stringify({ operation: attempt.operation, reason: attempt.reason }),
          at,
          since: new Date(at.getTime() - REFUSAL_QUIET_MS),
          operation: attempt.operation,
        },
      );
    });
  }
}
