import type { Knex } from 'knex';
import { COUNT_ACTIVE_FUNCTION, COUNT_ACTIVE_TRIGGER } from './20261128_003_member_counts_and_settings.js';

// Page N of the members, by number: its first member was found by skipping, in the page index,
// the members before it (or after it, when fewer): 2,500 index entries for page 301 of 400, and
// twice the database's time of page 1. Anchors are every 200th member's key, in name order,
// built by a job for the account's members as they are at one version; a read uses them only
// while the account's members_version is still theirs (the trigger that counts active members
// moves it on every change of who is active or of their order), then skips at most 199.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.bigInteger('members_version').notNullable().defaultTo(0);
  });
  await knex.raw(`
    CREATE OR REPLACE FUNCTION members_count_active() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.account_id = NEW.account_id AND OLD.status = NEW.status THEN
        -- Same account, same status: only the order of the active members may have changed.
        IF NEW.status = 'active'
           AND (OLD.sort_name, OLD.slack_user_id) IS DISTINCT FROM (NEW.sort_name, NEW.slack_user_id) THEN
          UPDATE accounts SET members_version = members_version + 1 WHERE id = NEW.account_id;
        END IF;
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'active' THEN
        UPDATE accounts SET active_members = active_members - 1, members_version = members_version + 1
        WHERE id = OLD.account_id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'active' THEN
        UPDATE accounts SET active_members = active_members + 1, members_version = members_version + 1
        WHERE id = NEW.account_id;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw('DROP TRIGGER members_count_active ON members');
  await knex.raw(`
    CREATE TRIGGER members_count_active
    AFTER INSERT OR DELETE OR UPDATE OF status, account_id, sort_name, slack_user_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_count_active()`);
  await knex.schema.createTable('member_anchors', (t) => {
    t.bigInteger('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.bigInteger('version').notNullable();
    t.integer('position').notNullable();
    t.text('sort_name').notNullable();
    t.text('slack_user_id').notNullable();
    t.primary(['account_id', 'version', 'position']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('member_anchors');
  await knex.raw('DROP TRIGGER members_count_active ON members');
  await knex.raw(COUNT_ACTIVE_FUNCTION);
  await knex.raw(COUNT_ACTIVE_TRIGGER);
  await knex.schema.alterTable('accounts', (t) => {
    t.dropColumn('members_version');
  });
}
