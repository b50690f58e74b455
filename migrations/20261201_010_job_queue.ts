import type { Knex } from 'knex';
import PgBoss from 'pg-boss';

// The durable job queue's tables (pg-boss 10, in its own schema): reminders, expiries and other
// work that is not the answer to a request. pg-boss is pinned to an exact version and started
// with `migrate: false`: its schema changes only here, with the app's migrations. Upgrading
// pg-boss means a new migration that runs PgBoss.getMigrationPlans(...).
export const QUEUE_SCHEMA = 'pgboss';

// The plans hold their own BEGIN … COMMIT (and an advisory lock against a concurrent install).
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  // Outside a transaction, a failure after the plan committed would leave it applied but this
  // migration unrecorded: the next start must not try to create it again.
  const { rows } = (await knex.raw(`SELECT to_regclass('${QUEUE_SCHEMA}.version') AS installed`)) as {
    rows: Array<{ installed: string | null }>;
  };
  if (!rows[0]?.installed) await knex.raw(PgBoss.getConstructionPlans(QUEUE_SCHEMA));
  await createQueues(knex, ['prune-request-claims']);
}

/**
 * Makes the app's queues here, once, rather than at each process's start: pg-boss gives each
 * queue a partition of its job table, and several processes attaching partitions at the same
 * moment can deadlock.
 */
export async function createQueues(knex: Knex, names: string[]): Promise<void> {
  for (const name of names) {
    await knex.raw(`SELECT ${QUEUE_SCHEMA}.create_queue(?, ?::json)`, [name, JSON.stringify({ policy: 'standard' })]);
  }
}

/** Rolling back drops the queue and every job in it, pending reminders included. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP SCHEMA IF EXISTS ${QUEUE_SCHEMA} CASCADE`);
}
