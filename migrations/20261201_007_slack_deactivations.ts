import type { Knex } from 'knex';

// People Slack says are deactivated, member or not, per account: a link for anyone has no
// invite to revoke, so a registration racing a deactivation event checks here, under the
// account's lock. Reactivation removes the row.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('slack_deactivations', (t) => {
    t.bigInteger('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('slack_user_id').notNullable();
    t.timestamp('deactivated_at', { useTz: true }).notNullable();
    t.primary(['account_id', 'slack_user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('slack_deactivations');
}
