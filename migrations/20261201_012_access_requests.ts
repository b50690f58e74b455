import type { Knex } from 'knex';
import { createQueues } from './20261201_010_job_queue.js';

// Access requests: a non-member asks, an admin approves or denies. One open request per person
// and account (a partial unique index: two asks at once make one). Each copy of the request sent
// to an admin (channel and ts) is kept, to change every copy in place once it is decided.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('access_requests', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('slack_user_id').notNullable();
    t.text('reason');
    t.boolean('guest').notNullable().defaultTo(false);
    t.text('status').notNullable().defaultTo('open');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.text('decided_by');
    t.timestamp('decided_at', { useTz: true });
  });
  await knex.raw(
    "CREATE UNIQUE INDEX access_requests_one_open ON access_requests (account_id, slack_user_id) WHERE status = 'open'",
  );
  await createQueues(knex, ['access-request-expiry']);
  await knex.schema.createTable('access_request_copies', (t) => {
    t.bigInteger('request_id').notNullable().references('id').inTable('access_requests').onDelete('CASCADE');
    t.text('channel').notNullable();
    t.text('ts').notNullable();
    t.primary(['request_id', 'channel', 'ts']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("SELECT pgboss.delete_queue('access-request-expiry')");
  await knex.schema.dropTable('access_request_copies');
  await knex.schema.dropTable('access_requests');
}
