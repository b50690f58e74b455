import type { Knex } from 'knex';
import * as initial from '../../migrations/20261128_001_initial.js';
import * as requestClaims from '../../migrations/20261128_002_request_claims.js';
import * as memberCounts from '../../migrations/20261128_003_member_counts_and_settings.js';
import * as refusalIndex from '../../migrations/20261128_004_refusal_index.js';
import * as slackDeactivation from '../../migrations/20261128_005_slack_deactivation.js';
import * as installations from '../../migrations/20261128_006_installations.js';
import * as slackDeactivations from '../../migrations/20261201_007_slack_deactivations.js';
import * as rateLimits from '../../migrations/20261201_008_rate_limits.js';
import * as inviteCaps from '../../migrations/20261201_009_invite_caps.js';
import * as jobQueue from '../../migrations/20261201_010_job_queue.js';
import * as invitationDms from '../../migrations/20261201_011_invitation_dms.js';
import * as accessRequests from '../../migrations/20261201_012_access_requests.js';
import * as accessRequestPlaces from '../../migrations/20261201_013_access_request_places.js';
import * as bulkInvitations from '../../migrations/20261201_014_bulk_invitations.js';
import * as memberSearch from '../../migrations/20261201_015_member_search.js';
import * as emailSearchColumn from '../../migrations/20261202_016_email_search_column.js';
import * as rateLimitsUnlogged from '../../migrations/20261202_017_rate_limits_unlogged.js';
import * as pendingInvitesOrder from '../../migrations/20261202_018_pending_invites_order.js';
import * as searchWalkIndex from '../../migrations/20261202_019_search_walk_index.js';
import * as memberAnchors from '../../migrations/20261202_020_member_anchors.js';
import * as memberSearchText from '../../migrations/20261203_021_member_search_text.js';

interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
  /** `transaction: false` for a migration that manages its own transaction. */
  config?: { transaction?: boolean };
}

// Migrations are imported rather than read from the folder, and named without their file
// extension, so a database migrated from .ts sources also runs from compiled .js.
// Append new migrations here in order.
const migrations: Migration[] = [
  { name: '20261128_001_initial', ...initial },
  { name: '20261128_002_request_claims', ...requestClaims },
  { name: '20261128_003_member_counts_and_settings', ...memberCounts },
  { name: '20261128_004_refusal_index', ...refusalIndex },
  { name: '20261128_005_slack_deactivation', ...slackDeactivation },
  { name: '20261128_006_installations', ...installations },
  { name: '20261201_007_slack_deactivations', ...slackDeactivations },
  { name: '20261201_008_rate_limits', ...rateLimits },
  { name: '20261201_009_invite_caps', ...inviteCaps },
  { name: '20261201_010_job_queue', ...jobQueue },
  { name: '20261201_011_invitation_dms', ...invitationDms },
  { name: '20261201_012_access_requests', ...accessRequests },
  { name: '20261201_013_access_request_places', ...accessRequestPlaces },
  { name: '20261201_014_bulk_invitations', ...bulkInvitations },
  { name: '20261201_015_member_search', ...memberSearch },
  { name: '20261202_016_email_search_column', ...emailSearchColumn },
  { name: '20261202_017_rate_limits_unlogged', ...rateLimitsUnlogged },
  { name: '20261202_018_pending_invites_order', ...pendingInvitesOrder },
  { name: '20261202_019_search_walk_index', ...searchWalkIndex },
  { name: '20261202_020_member_anchors', ...memberAnchors },
  { name: '20261203_021_member_search_text', ...memberSearchText },
];

/** The migrations' names, in order (what a prepared database image is keyed by). */
export const MIGRATION_NAMES: readonly string[] = migrations.map((m) => m.name);

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};

export const migrationConfig: Knex.MigratorConfig = {
  migrationSource,
  tableName: 'knex_migrations',
};
