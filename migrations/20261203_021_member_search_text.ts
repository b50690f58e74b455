import type { Knex } from 'knex';

// A search ("name or email contains") reads one column, `search_text`: the sort name and the
// lower-cased email joined by a control character (U+0001) that a search text never holds
// (`listMembers` turns control characters into spaces), so nothing matches across the two.
// - One LIKE a member where there were two, and one trigram index where there were two: the
//   planner weighed each index and each column's statistics for every search. Measured at
//   100,000 members (the seven texts of `npm run bench:search`, each statement 21 times, the two
//   forms interleaved on one database, 2026-12-03): planning 0.40–0.71 ms → 0.32–0.57, the
//   statement as the bot sends it 2.44 ms → 2.08 on average, every text faster ("okafor" 3.38 →
//   2.98, "ana okafor" 2.64 → 2.00).
// - The page index carries `search_text` where it carried `email_lower`, so a walk in name order
//   still reads the index alone. `email_lower` (migration 016) was kept for searching only: it goes.
export async function up(knex: Knex): Promise<void> {
  const trigrams = await hasTrigrams(knex);
  await knex.raw('DROP INDEX IF EXISTS members_name_search');
  await knex.raw('DROP INDEX IF EXISTS members_email_search');
  await knex.raw('DROP INDEX IF EXISTS members_active_page');
  await knex.raw('ALTER TABLE members DROP COLUMN email_lower');
  await knex.raw(`ALTER TABLE members ADD COLUMN search_text text
    GENERATED ALWAYS AS (sort_name || E'\\x01' || coalesce(lower(email), '')) STORED`);
  await knex.raw(`CREATE INDEX members_active_page ON members (account_id, sort_name, slack_user_id)
    INCLUDE (role, search_text) WHERE status = 'active'`);
  if (trigrams) {
    await knex.raw(`CREATE INDEX members_search ON members USING gin (search_text gin_trgm_ops)
      WHERE status = 'active'`);
  }
  // As migration 016 found for the two columns: 1,000 histogram entries estimate "contains"
  // within a few per cent, 100 mistook a 2 % text for 17 %. The name's own goes back to the
  // default: nothing filters on it by pattern any more.
  await knex.raw(
    'ALTER TABLE members ALTER COLUMN search_text SET STATISTICS 1000, ALTER COLUMN sort_name SET STATISTICS -1',
  );
  await knex.raw('ANALYZE members');
}

export async function down(knex: Knex): Promise<void> {
  const trigrams = await hasTrigrams(knex);
  await knex.raw('DROP INDEX IF EXISTS members_search');
  await knex.raw('DROP INDEX IF EXISTS members_active_page');
  await knex.raw('ALTER TABLE members DROP COLUMN search_text');
  await knex.raw('ALTER TABLE members ADD COLUMN email_lower text GENERATED ALWAYS AS (lower(email)) STORED');
  await knex.raw(`CREATE INDEX members_active_page ON members (account_id, sort_name, slack_user_id)
    INCLUDE (role, email_lower) WHERE status = 'active'`);
  if (trigrams) {
    await knex.raw(`CREATE INDEX members_name_search ON members USING gin (sort_name gin_trgm_ops)
      WHERE status = 'active'`);
    await knex.raw(`CREATE INDEX members_email_search ON members USING gin (email_lower gin_trgm_ops)
      WHERE status = 'active'`);
  }
  await knex.raw(
    'ALTER TABLE members ALTER COLUMN sort_name SET STATISTICS 1000, ALTER COLUMN email_lower SET STATISTICS 1000',
  );
  await knex.raw('ANALYZE members');
}

/** Whether migration 015 could create pg_trgm here (a managed server may refuse it). */
async function hasTrigrams(knex: Knex): Promise<boolean> {
  const installed = await knex.raw("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'");
  return installed.rows.length > 0;
}
