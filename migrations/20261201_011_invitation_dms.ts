import type { Knex } from 'knex';

// Where each invitation's DM is (the channel and ts chat.postMessage returned), so it can be
// changed in place when the invitation's state changes; what it last showed; when its
// reminder went out. Invitations sent before this migration have no DM recorded: their DMs
// stay as they are.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invites', (t) => {
    t.text('dm_channel');
    t.text('dm_ts');
    t.text('dm_shows');
    t.timestamp('reminded_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invites', (t) => {
    t.dropColumn('reminded_at');
    t.dropColumn('dm_shows');
    t.dropColumn('dm_ts');
    t.dropColumn('dm_channel');
  });
}
