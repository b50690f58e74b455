import type { Knex } from 'knex';

// accounts.active_members, kept exact by a trigger on members, so a page of members shows the
// total without counting 10,000 rows each time. app_settings holds values every process must
// share (a generated registration link key when several processes use one server).

/** The counting trigger as this migration makes it (a later one that changes it goes back to it). */
export const COUNT_ACTIVE_FUNCTION = `
    CREATE OR REPLACE FUNCTION members_count_active() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'active' THEN
        UPDATE accounts SET active_members = active_members - 1 WHERE id = OLD.account_id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'active' THEN
        UPDATE accounts SET active_members = active_members + 1 WHERE id = NEW.account_id;
      END IF;
      RETURN NULL;
    END $$`;
export const COUNT_ACTIVE_TRIGGER = `
    CREATE TRIGGER members_count_active
    AFTER INSERT OR DELETE OR UPDATE OF status, account_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_count_active()`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.integer('active_members').notNullable().defaultTo(0);
  });
  await knex.raw(`
    UPDATE accounts a SET active_members = (
      SELECT count(*) FROM members m WHERE m.account_id = a.id AND m.status = 'active')`);
  await knex.raw(COUNT_ACTIVE_FUNCTION);
  await knex.raw(COUNT_ACTIVE_TRIGGER);

  await knex.schema.createTable('app_settings', (t) => {
    t.text('key').primary();
    t.text('value').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('app_settings');
  await knex.raw('DROP TRIGGER members_count_active ON members');
  await knex.raw('DROP FUNCTION members_count_active()');
  await knex.schema.alterTable('accounts', (t) => {
    t.dropColumn('active_members');
  });
}
