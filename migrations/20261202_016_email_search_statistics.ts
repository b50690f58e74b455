import type { Knex } from 'knex';

// What the planner knows of `lower(email)`: the trigram index on it is partial (active members),
// and PostgreSQL keeps no statistics for a partial index's expression, so it guessed that any
// text matches about 10 emails. A search for an email domain (a third of everyone) then read
// tens of thousands of rows through the index (110 ms at 100,000 members) where walking the name
// order finds a page in 76 rows (under 1 ms). Extended statistics on the expression give the
// planner the real share; ANALYZE fills them now rather than at autovacuum's next pass.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE STATISTICS IF NOT EXISTS members_email_lower ON (lower(email)) FROM members');
  await knex.raw('ANALYZE members');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP STATISTICS IF EXISTS members_email_lower');
}
