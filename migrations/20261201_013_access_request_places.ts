import type { Knex } from 'knex';

// Where an account's access requests go (a channel an admin chose; none: DMs to the admins), the
// expired invitation a request came from (named to the admins), and a denial's reason.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.text('requests_channel');
  });
  await knex.schema.alterTable('access_requests', (t) => {
    t.text('invite_id');
    t.text('deny_reason');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('access_requests', (t) => {
    t.dropColumn('deny_reason');
    t.dropColumn('invite_id');
  });
  await knex.schema.alterTable('accounts', (t) => {
    t.dropColumn('requests_channel');
  });
}
