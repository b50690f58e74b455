import type { Knex } from 'knex';

// Accounts, their members, registration invites and the audit log.
// Slack user ids are the identity of a person within an account; removal is a soft delete.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('accounts', (t) => {
    t.bigIncrements('id').primary();
    t.text('slack_team_id');
    t.text('slack_enterprise_id');
    t.boolean('is_enterprise_install').notNullable().defaultTo(false);
    t.text('name');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    ALTER TABLE accounts ADD CONSTRAINT accounts_slack_identity CHECK (
      (is_enterprise_install AND slack_enterprise_id IS NOT NULL)
      OR (NOT is_enterprise_install AND slack_team_id IS NOT NULL))`);
  // One account per workspace, and one per Enterprise Grid org for org-wide installs.
  await knex.raw(
    'CREATE UNIQUE INDEX accounts_team_unique ON accounts (slack_team_id) WHERE NOT is_enterprise_install',
  );
  await knex.raw(
    'CREATE UNIQUE INDEX accounts_enterprise_unique ON accounts (slack_enterprise_id) WHERE is_enterprise_install',
  );

  await knex.schema.createTable('members', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.text('slack_user_id').notNullable();
    t.text('email');
    t.text('display_name');
    // Lower-cased name (or user id): the stable alphabetical order members are paged in.
    t.text('sort_name').notNullable();
    t.text('role').notNullable();
    t.text('status').notNullable().defaultTo('active');
    t.timestamp('registered_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('invited_by');
    t.text('invite_id');
    t.timestamp('removed_at', { useTz: true });
    t.text('removed_by');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['account_id', 'slack_user_id'], { indexName: 'members_account_user_unique' });
  });
  await knex.raw(`ALTER TABLE members
    ADD CONSTRAINT members_role CHECK (role IN ('AccountAdmin', 'AccountUser')),
    ADD CONSTRAINT members_status CHECK (status IN ('active', 'removed')),
    ADD CONSTRAINT members_removed_consistent CHECK ((status = 'removed') = (removed_at IS NOT NULL))`);
  // Keyset pages of an account's active members, and the count of its active admins.
  await knex.raw(`CREATE INDEX members_active_page ON members (account_id, sort_name, slack_user_id)
    INCLUDE (role) WHERE status = 'active'`);
  await knex.raw(`CREATE INDEX members_active_admins ON members (account_id)
    WHERE status = 'active' AND role = 'AccountAdmin'`);

  await knex.schema.createTable('invites', (t) => {
    t.text('id').primary();
    t.bigInteger('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.text('created_by').notNullable();
    // The Slack user the invite is for; null for a link anyone may use.
    t.text('for_slack_user_id');
    t.text('role').notNullable().defaultTo('AccountUser');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    // Null means unlimited (a shared link without a cap).
    t.integer('max_uses');
    t.integer('uses').notNullable().defaultTo(0);
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.text('revoked_by');
    t.text('revoke_reason');
  });
  await knex.raw(`ALTER TABLE invites
    ADD CONSTRAINT invites_role CHECK (role IN ('AccountAdmin', 'AccountUser')),
    ADD CONSTRAINT invites_max_uses CHECK (max_uses IS NULL OR max_uses > 0),
    ADD CONSTRAINT invites_uses CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    ADD CONSTRAINT invites_bound_single_use CHECK (for_slack_user_id IS NULL OR max_uses = 1),
    ADD CONSTRAINT invites_revoked_consistent CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))`);
  // At most one live invite per person: a new one replaces (revokes) the old one first.
  await knex.raw(`CREATE UNIQUE INDEX invites_one_pending_per_person ON invites (account_id, for_slack_user_id)
    WHERE for_slack_user_id IS NOT NULL AND revoked_at IS NULL AND uses = 0`);
  await knex.raw(`CREATE INDEX invites_pending ON invites (account_id, expires_at)
    WHERE revoked_at IS NULL`);
  await knex.raw('CREATE INDEX invites_created_by ON invites (account_id, created_by) WHERE revoked_at IS NULL');

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    // A Slack user id, or "system" (start-up bootstrap) or "slack" (events from Slack).
    t.text('actor').notNullable();
    t.text('action').notNullable();
    t.text('target_slack_user_id');
    t.text('target_invite_id');
    t.jsonb('before');
    t.jsonb('after');
    t.text('source').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE INDEX audit_log_account_latest ON audit_log (account_id, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.schema.dropTable('invites');
  await knex.schema.dropTable('members');
  await knex.schema.dropTable('accounts');
}
