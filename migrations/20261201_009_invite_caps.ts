import type { Knex } from 'knex';

// The invitation caps count an admin's invitations, and a person's, over the last 24 hours.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX invites_made_recently ON invites (account_id, created_by, created_at)');
  await knex.raw(
    'CREATE INDEX invites_for_person_recently ON invites (account_id, for_slack_user_id, created_at) WHERE for_slack_user_id IS NOT NULL',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX invites_for_person_recently');
  await knex.raw('DROP INDEX invites_made_recently');
}
