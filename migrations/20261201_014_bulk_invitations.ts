import type { Knex } from 'knex';
import { createQueues } from './20261201_010_job_queue.js';

// Invitations of whole channels and user groups: the invitation (who asked, what it covers, the
// counts it was confirmed with, where it stands, which process works it until when) and each of
// its people, whose state is written before and after their DM so a crash never DMs anyone twice.
// Invites made by one carry its id (Revoke all; the admin's daily cap counts it once).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bulk_invitations', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('created_by').notNullable();
    t.jsonb('sources').notNullable();
    t.jsonb('counts').notNullable();
    t.integer('total').notNullable();
    // counted → running → (stopping →) stopped | done; counted → cancelled
    t.text('status').notNullable().defaultTo('counted');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('started_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.timestamp('lease_until', { useTz: true });
    t.text('leased_by');
    t.text('progress_channel');
    t.text('progress_ts');
  });
  await knex.raw(
    "CREATE INDEX bulk_invitations_running ON bulk_invitations (account_id) WHERE status IN ('running', 'stopping')",
  );
  await knex.schema.createTable('bulk_invitees', (t) => {
    t.bigInteger('bulk_id').notNullable().references('id').inTable('bulk_invitations').onDelete('CASCADE');
    t.text('slack_user_id').notNullable();
    t.text('display_name');
    // pending → sending → sent | failed (reason)
    t.text('state').notNullable().defaultTo('pending');
    t.text('reason');
    t.text('invite_id');
    t.timestamp('attempt_at', { useTz: true });
    t.primary(['bulk_id', 'slack_user_id']);
  });
  await knex.raw('CREATE INDEX bulk_invitees_state ON bulk_invitees (bulk_id, state)');
  await knex.schema.alterTable('invites', (t) => {
    t.bigInteger('bulk_id');
  });
  await knex.raw('CREATE INDEX invites_bulk ON invites (bulk_id) WHERE bulk_id IS NOT NULL');
  await createQueues(knex, ['bulk-invitation']);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("SELECT pgboss.delete_queue('bulk-invitation')");
  await knex.raw('DROP INDEX invites_bulk');
  await knex.schema.alterTable('invites', (t) => {
    t.dropColumn('bulk_id');
  });
  await knex.schema.dropTable('bulk_invitees');
  await knex.schema.dropTable('bulk_invitations');
}
