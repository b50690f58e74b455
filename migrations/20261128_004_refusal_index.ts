import type { Knex } from 'knex';

// Refused attempts are recorded at most once a minute per person and operation (someone
// repeating a command they may not use must not flood the audit log); this index answers
// "was this refusal recorded in the last minute?" without reading the account's whole log.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `CREATE INDEX audit_log_recent_refusals ON audit_log (account_id, actor, created_at DESC)
     WHERE action = 'access.refused'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX audit_log_recent_refusals');
}
