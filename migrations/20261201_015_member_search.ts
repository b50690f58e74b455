import type { Knex } from 'knex';

// Search among many members (`list <text>`, `find`, the console's box: a name or an email that
// contains the text, any case) and exports (every member, removed ones too, in name order).
// Trigram indexes (pg_trgm) let "contains" use an index; where the extension cannot be created
// (a managed server that refuses it) searches still work, by reading the account's members.
export async function up(knex: Knex): Promise<void> {
  const available = await knex.raw("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'");
  let trigrams = available.rows.length > 0;
  if (trigrams) {
    try {
      // A savepoint: a refusal (no privilege) leaves the migration's transaction usable.
      await knex.transaction(async (trx) => {
        await trx.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
      });
    } catch {
      trigrams = false;
    }
  }
  if (trigrams) {
    await knex.raw(`CREATE INDEX members_name_search ON members USING gin (sort_name gin_trgm_ops)
      WHERE status = 'active'`);
    await knex.raw(`CREATE INDEX members_email_search ON members USING gin (lower(email) gin_trgm_ops)
      WHERE status = 'active'`);
  }
  // Removed members, paged by name for exports (active ones have members_active_page).
  await knex.raw(`CREATE INDEX members_removed_page ON members (account_id, sort_name, slack_user_id)
    WHERE status = 'removed'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS members_removed_page');
  await knex.raw('DROP INDEX IF EXISTS members_email_search');
  await knex.raw('DROP INDEX IF EXISTS members_name_search');
  // The extension stays: other schemas in the database may use it.
}
