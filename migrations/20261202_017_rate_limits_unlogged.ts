import type { Knex } from 'knex';

// The public pages' request counts need no crash safety: they expire within the hour, and a
// PostgreSQL crash that empties them only forgives a few requests. As a logged table each page
// view committed two writes through the WAL (a flush to disk each); unlogged, none.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE rate_limits SET UNLOGGED');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE rate_limits SET LOGGED');
}
