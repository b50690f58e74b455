import type { Knex } from 'knex';

// Slack redelivers a request it had no answer to within 3 s, possibly to another process:
// a claim per request key, taken in the database, lets exactly one process act on it.
// Invites also keep the invitee's name, so the public registration page needs no Slack call.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('slack_request_claims', (t) => {
    t.text('request_key').primary();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['created_at'], 'slack_request_claims_created_at');
  });
  await knex.schema.alterTable('invites', (t) => {
    t.text('for_display_name');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invites', (t) => {
    t.dropColumn('for_display_name');
  });
  await knex.schema.dropTable('slack_request_claims');
}
