import type { Knex } from 'knex';

// Slack installations for the multi-workspace mode (issue 6): one row per workspace, or per
// Enterprise Grid org for an org-wide install. The tokens are stored encrypted (AES-256-GCM);
// removing a row (app_uninstalled, tokens_revoked) leaves the accounts and their members alone.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('installations', (t) => {
    t.bigIncrements('id').primary();
    /** "T:<team id>" for a workspace install, "E:<enterprise id>" for an org-wide one. */
    t.text('install_key').notNullable().unique();
    t.text('slack_team_id');
    t.text('slack_enterprise_id');
    t.boolean('is_enterprise_install').notNullable().defaultTo(false);
    /** The installation as Slack gave it, encrypted: never readable without the key. */
    t.text('sealed').notNullable();
    t.timestamp('installed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('installations');
}
