import type { Knex } from 'knex';
import { authorizeAdmin, recordAudit, toAuditEntry } from './store.js';
import type { Actor, AuditEntry, Result } from './types.js';

export const MAX_AUDIT_ENTRIES = 50;

export class AuditService {
  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /** The latest changes in the account, newest first. */
  async latest(actor: Actor, limit: number): Promise<Result<{ entries: AuditEntry[] }, 'not_member' | 'not_admin'>> {
    const auth = await authorizeAdmin(this.deps.knex, actor);
    if (!auth.ok) return auth;
    const rows = await this.deps
      .knex('audit_log')
      .where({ account_id: actor.accountId })
      .orderBy('id', 'desc')
      .limit(Math.max(1, Math.min(MAX_AUDIT_ENTRIES, Math.floor(limit))));
    return { ok: true, entries: rows.map(toAuditEntry) };
  }

  /** An admin operation someone was not allowed to make. */
  async recordRefusal(actor: Actor, attempt: { operation: string; reason: string }): Promise<void> {
    await recordAudit(this.deps.knex, {
      accountId: actor.accountId,
      actor: actor.slackUserId,
      action: 'access.refused',
      source: actor.source,
      after: { operation: attempt.operation, reason: attempt.reason },
      at: this.deps.now(),
    });
  }
}
