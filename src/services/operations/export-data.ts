// `/chatbees-users export members|audit [days]`: a CSV in the admin's DM, for a spreadsheet (an
// audit, a licence count, a review). Rows are read a chunk at a time and written to a temporary
// file, so 100,000 members never sit in memory; the file's length is then known, as Slack's
// upload asks for it first. The export is itself in the audit log (the file holds emails),
// written, with the admin checked again, just before the file leaves; a second entry says so
// when Slack did not take the file.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BOM, csvRow } from '../../csv.js';
import { recordAudit } from '../audit-log.js';
import { authorizeAdmin, lockAsAdmin } from '../checks.js';
import { inTransaction, planned } from '../db.js';
import type { Services } from '../index.js';
import type { Row } from '../rows.js';
import { type Actor, type Refused, refuse } from '../types.js';

export const DEFAULT_EXPORT_DAYS = 30;
export const MAX_EXPORT_DAYS = 365;
/** Rows read per query. */
export const EXPORT_CHUNK = 2000;

export type ExportInput = { what: 'members' } | { what: 'audit'; days: number };

export type ExportOutcome =
  | { ok: true; what: 'members' | 'audit'; rows: number; days?: number; filename: string }
  | Refused<'not_member' | 'not_admin' | 'files_not_allowed' | 'file_not_delivered'>;

const MEMBER_COLUMNS = [
  'slack_user_id',
  'name',
  'email',
  'role',
  'status',
  'joined_utc',
  'invited_by',
  'invited_by_name',
  'removed_utc',
  'deactivated_in_slack_utc',
];
const AUDIT_COLUMNS = ['when_utc', 'who', 'who_name', 'what', 'whom', 'whom_name', 'details'];

/** ISO 8601 in UTC, to the second: what a spreadsheet and a reader both take. */
function isoUtc(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return new Date(value as string | Date).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Active members first, then removed ones, each by name: $1 account, $2 status, $3/$4 the last
// key written, $5 the chunk size. The inviter's name from the same account.
const MEMBERS_CHUNK = `SELECT m.slack_user_id, m.display_name, m.email, m.role, m.status, m.registered_at,
    m.invited_by, i.display_name AS inviter_name, m.removed_at, m.slack_deactivated_at, m.sort_name
  FROM members m
  LEFT JOIN members i ON i.account_id = m.account_id AND i.slack_user_id = m.invited_by
  WHERE m.account_id = $1 AND m.status = $2 AND (m.sort_name, m.slack_user_id) > ($3, $4)
  ORDER BY m.sort_name, m.slack_user_id
  LIMIT $5`;

// Newest first, as `audit` shows it, along the log's own index: $1 account, $2 below this id.
// The days are cut in code: a date condition here would read back through all older entries.
const AUDIT_CHUNK = `SELECT l.id, l.created_at, l.actor, a.display_name AS actor_name, l.action,
    l.target_slack_user_id, t.display_name AS target_name, l.target_invite_id, l.before, l.after, l.source
  FROM audit_log l
  LEFT JOIN members a ON a.account_id = l.account_id AND a.slack_user_id = l.actor
  LEFT JOIN members t ON t.account_id = l.account_id AND t.slack_user_id = l.target_slack_user_id
  WHERE l.account_id = $1 AND l.id < $2
  ORDER BY l.id DESC
  LIMIT $3`;

/** Writes rows to `file` as they come, waiting when the disk is behind; returns the row count. */
async function writeCsv(
  file: string,
  header: readonly string[],
  rows: AsyncIterable<ReadonlyArray<string | number | null>>,
): Promise<number> {
  const out = createWriteStream(file, { mode: 0o600 });
  let count = 0;
  try {
    if (!out.write(BOM + csvRow(header))) await once(out, 'drain');
    for await (const row of rows) {
      count++;
      if (!out.write(csvRow(row))) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return count;
}

async function* memberRows(services: Services, accountId: number) {
  for (const status of ['active', 'removed']) {
    let key = ['', ''];
    for (;;) {
      const chunk = await planned(services.knex, MEMBERS_CHUNK, [accountId, status, ...key, EXPORT_CHUNK]);
      for (const m of chunk) {
        yield [
          m.slack_user_id as string,
          (m.display_name as string | null) ?? '',
          (m.email as string | null) ?? '',
          m.role as string,
          m.status as string,
          isoUtc(m.registered_at),
          (m.invited_by as string | null) ?? '',
          (m.inviter_name as string | null) ?? '',
          isoUtc(m.removed_at),
          isoUtc(m.slack_deactivated_at),
        ];
      }
      const last = chunk[chunk.length - 1];
      if (!last || chunk.length < EXPORT_CHUNK) break;
      key = [last.sort_name as string, last.slack_user_id as string];
    }
  }
}

/** What an entry's columns leave out: before, after and where it came from, as compact JSON. */
function details(entry: Row): string {
  const shown: Record<string, unknown> = { source: entry.source };
  if (entry.before) shown.before = entry.before;
  if (entry.after) shown.after = entry.after;
  if (entry.target_invite_id) shown.invite = entry.target_invite_id;
  return JSON.stringify(shown);
}

async function* auditRows(services: Services, accountId: number, since: Date) {
  let below = Number.MAX_SAFE_INTEGER;
  for (;;) {
    const chunk = await planned(services.knex, AUDIT_CHUNK, [accountId, below, EXPORT_CHUNK]);
    for (const entry of chunk) {
      if (new Date(entry.created_at as string) < since) continue;
      yield [
        isoUtc(entry.created_at),
        entry.actor as string,
        (entry.actor_name as string | null) ?? '',
        entry.action as string,
        (entry.target_slack_user_id as string | null) ??
          (entry.target_invite_id ? `invite ${entry.target_invite_id}` : ''),
        (entry.target_name as string | null) ?? '',
        details(entry),
      ];
    }
    const last = chunk[chunk.length - 1];
    // Entries are numbered as they are written: once a whole chunk is older, so is the rest.
    if (!last || chunk.length < EXPORT_CHUNK || new Date(last.created_at as string) < since) break;
    below = Number(last.id);
  }
}

/** Slack's reasons an upload is refused that a reinstall fixes. */
const NOT_ALLOWED = new Set(['missing_scope', 'not_allowed_token_type', 'no_permission']);

export async function exportData(services: Services, actor: Actor, input: ExportInput): Promise<ExportOutcome> {
  const admin = await authorizeAdmin(services.knex, actor);
  if (!admin.ok) return admin;
  const startedAt = services.now();
  const day = startedAt.toISOString().slice(0, 10);
  const days = input.what === 'audit' ? Math.max(1, Math.min(MAX_EXPORT_DAYS, Math.floor(input.days))) : undefined;
  const filename = days === undefined ? `chatbees-members-${day}.csv` : `chatbees-audit-${days}d-${day}.csv`;
  const dir = await mkdtemp(path.join(tmpdir(), 'chatbees-users-export-'));
  try {
    const file = path.join(dir, filename);
    const rows =
      days === undefined
        ? await writeCsv(file, MEMBER_COLUMNS, memberRows(services, actor.accountId))
        : await writeCsv(
            file,
            AUDIT_COLUMNS,
            auditRows(services, actor.accountId, new Date(startedAt.getTime() - days * 86_400_000)),
          );
    const bytes = (await stat(file)).size;
    // The export's entry: before the file leaves, and again if Slack does not take it.
    const entry = (after: Record<string, unknown>) => ({
      accountId: actor.accountId,
      actor: actor.slackUserId,
      action: days === undefined ? ('members.exported' as const) : ('audit.exported' as const),
      source: actor.source,
      after: { rows, filename, ...(days === undefined ? {} : { days }), ...after },
      at: services.now(),
    });
    // Still an admin now, and the export on record before the file leaves.
    const checked = await inTransaction(services.knex, async (trx) => {
      const locked = await lockAsAdmin(trx, actor);
      if (!locked.ok) return locked;
      await recordAudit(trx, entry({ bytes }));
      return { ok: true as const, account: locked.account };
    });
    if (!checked.ok) return checked;
    const what = days === undefined ? 'members' : `audit log, last ${days} days`;
    const delivery = await services.notifier.tellFile(
      checked.account,
      actor.slackUserId,
      {
        filename,
        title: `ChatBees ${what} (${rows} ${rows === 1 ? 'row' : 'rows'})`,
        comment: `Your export: ${what}, ${rows} ${rows === 1 ? 'row' : 'rows'}, times in UTC. It holds emails: keep it to those who need it.`,
        file: { path: file, bytes },
      },
      { fallback: false },
    );
    if (!delivery.ok) {
      // The entry before said a file was made; this one says it never reached Slack.
      await recordAudit(services.knex, entry({ shared: false, error: delivery.error }));
      return refuse(NOT_ALLOWED.has(delivery.error) ? 'files_not_allowed' : 'file_not_delivered');
    }
    return { ok: true, what: input.what, rows, filename, ...(days === undefined ? {} : { days }) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
