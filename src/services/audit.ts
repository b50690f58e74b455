import type { Knex } from 'knex';
import { recordRefusal } from './audit-log.js';
import { IS_ADMIN_SQL, readAsAdmin } from './checks.js';
import { toAuditEntry } from './rows.js';
import type { Actor, AuditEntry, Result } from './types.js';

export const MAX_AUDIT_ENTRIES = 50;

export class AuditService {
  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /** The latest changes in the account, newest first. */
  async latest(actor: Actor, limit: number): Promise<Result<{ entries: AuditEntry[] }, 'not_member' | 'not_admin'>> {
    // Refused attempts are recorded too, but they are not changes: the list leaves them out.
    const read = await readAsAdmin(
      this.deps.knex,
      'audit_latest',
      `SELECT l.* FROM audit_log l
       WHERE l.account_id = $1 AND l.action <> 'access.refused' AND ${IS_ADMIN_SQL}
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
    await recordRefusal(this.deps.knex, actor, attempt, this.deps.now());
  }
}
