import type { Knex } from 'knex';

// The public pages' request counts, shared by every process (rate-limiter-flexible's
// PostgreSQL store, in the shape it reads and writes; it is told the table exists and never
// creates it). Rows are per limit and key (client address or link digest) and expire.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
    // The library deletes rows an hour past their expiry, every few minutes.
    t.index(['expire'], 'rate_limits_expire');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
}
