import type { Knex } from 'knex';
import { recordRefusal } from './audit-log.js';
import type { Actor } from './types.js';

export class AuditService {
  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /**
   * An admin operation someone was not allowed to make. Recorded once a minute at most per
   * person and operation, so repeating a refused command does not flood the log.
   */
  async recordRefusal(actor: Actor, attempt: { operation: string; reason: string }): Promise<void> {
    await recordRefusal(this.deps.knex, actor, attempt, this.deps.now());
  }
}
