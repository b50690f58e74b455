import type { Knex } from 'knex';
import { createQueues } from './20261201_010_job_queue.js';

// Where each personal invitation's DM is (the channel and ts chat.postMessage returned), and its
// reminder's, so both can be changed in place when the invitation's state changes; what they last
// showed; when the reminder went out; when its person asked for a new one. Kept beside the invitation, not on it: the invitation's own record changes
// only with the invitation. Invitations sent before this migration have no row: their DMs stay
// as they are. And the queues of the jobs that keep them current.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('invitation_dms', (t) => {
    t.text('invite_id').primary().references('id').inTable('invites').onDelete('CASCADE');
    t.text('channel');
    t.text('ts');
    t.text('shows');
    t.timestamp('reminded_at', { useTz: true });
    // The reminder is a second message with the same buttons: kept current the same way.
    t.text('reminder_channel');
    t.text('reminder_ts');
    /** When its person asked for a new invitation (once per invitation). */
    t.timestamp('asked_at', { useTz: true });
  });
  await createQueues(knex, ['invitation-dm', 'invitation-reminder']);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("SELECT pgboss.delete_queue('invitation-reminder')");
  await knex.raw("SELECT pgboss.delete_queue('invitation-dm')");
  await knex.schema.dropTable('invitation_dms');
}
