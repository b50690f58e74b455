import type { Knex } from 'knex';

// A member deactivated in Slack leaves the account, except the last AccountAdmin able to act:
// they stay, marked, until another admin exists. Admins who can act are found by the index.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('members', (t) => {
    t.timestamp('slack_deactivated_at', { useTz: true });
  });
  await knex.raw(
    `CREATE INDEX members_usable_admins ON members (account_id)
     WHERE role = 'AccountAdmin' AND status = 'active' AND slack_deactivated_at IS NULL`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX members_usable_admins');
  await knex.schema.alterTable('members', (t) => {
    t.dropColumn('slack_deactivated_at');
  });
}
