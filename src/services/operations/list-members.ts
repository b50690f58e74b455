// A page of the account's members and their roles (`/chatbees-users list`, the console).
import { adminRefusal, IS_ADMIN_SQL, ME_SQL } from '../checks.js';
import { prepared } from '../db.js';
import type { Services } from '../index.js';
import { toMember } from '../rows.js';
import type { Actor, Member, Result, Role } from '../types.js';

export const MAX_PAGE_SIZE = 100;

export interface MemberPage {
  members: Member[];
  /** Active members in the account. */
  total: number;
  /** 1-based, when the page was asked for by number. */
  page: number | null;
  /** Opaque keyset cursors for the neighbouring pages, null at either end. */
  next: string | null;
  previous: string | null;
}

export type PageRequest =
  | { limit: number; page?: number }
  | { limit: number; after: string }
  | { limit: number; before: string };

type MemberRow = Record<string, unknown> & { sort_name: string; slack_user_id: string };

// The actor's role and the account's total come with every page, in the same statement.
// $1 account, $2 actor, $3 page size (+1 for keyset reads, to tell whether there are more).
const ACTIVE = `m.account_id = $1 AND m.status = 'active'`;
const RESULT = (order: string) => `SELECT (SELECT role FROM me) AS actor_role,
  (SELECT active_members FROM accounts WHERE id = $1) AS total,
  (SELECT coalesce(json_agg(chunk ORDER BY ${order}), '[]'::json) FROM chunk) AS members`;
const KEYS = "SELECT b.sort_name, b.slack_user_id FROM members b WHERE b.account_id = $1 AND b.status = 'active'";

// Page $4: its first key is found by skipping, on the index alone, the members before it, or
// the members after it when that is fewer; then the page is read by keyset from that key.
const PAGE_BY_NUMBER = `WITH ${ME_SQL},
  t AS (SELECT active_members AS total FROM accounts WHERE id = $1),
  p AS (SELECT LEAST($4::int, GREATEST(1, CEIL(total::numeric / $3))::int) AS page, total FROM t),
  s AS (SELECT page, (page - 1) * $3 AS skip, total - (page - 1) * $3 - 1 AS skip_back,
               (page - 1) * $3 <= total / 2 AS forwards FROM p),
  boundary AS (
    (${KEYS} AND (SELECT forwards FROM s) ORDER BY b.sort_name, b.slack_user_id OFFSET (SELECT skip FROM s) LIMIT 1)
    UNION ALL
    (${KEYS} AND NOT (SELECT forwards FROM s) ORDER BY b.sort_name DESC, b.slack_user_id DESC
      OFFSET (SELECT GREATEST(skip_back, 0) FROM s) LIMIT 1)),
  chunk AS (
    SELECT m.* FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL}
      AND (m.sort_name, m.slack_user_id) >= (SELECT sort_name, slack_user_id FROM boundary)
    ORDER BY m.sort_name, m.slack_user_id
    LIMIT $3)
  ${RESULT('chunk.sort_name, chunk.slack_user_id')}, (SELECT page FROM s) AS page`;

// After or before the key ($4, $5).
const PAGE_AFTER = `WITH ${ME_SQL},
  chunk AS (
    SELECT m.* FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL} AND (m.sort_name, m.slack_user_id) > ($4, $5)
    ORDER BY m.sort_name, m.slack_user_id
    LIMIT $3)
  ${RESULT('chunk.sort_name, chunk.slack_user_id')}`;

const PAGE_BEFORE = `WITH ${ME_SQL},
  chunk AS (
    SELECT m.* FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL} AND (m.sort_name, m.slack_user_id) < ($4, $5)
    ORDER BY m.sort_name DESC, m.slack_user_id DESC
    LIMIT $3)
  ${RESULT('chunk.sort_name DESC, chunk.slack_user_id DESC')}`;

interface Key {
  sortName: string;
  slackUserId: string;
}

function encodeCursor(member: { sort_name: string; slack_user_id: string }): string {
  return Buffer.from(JSON.stringify([member.sort_name, member.slack_user_id])).toString('base64url');
}

function decodeCursor(cursor: string): Key | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) {
      return { sortName: value[0] as string, slackUserId: value[1] as string };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** A page of members in display order, with cursors to the neighbouring pages that exist. */
function pageOf(
  rows: MemberRow[],
  total: number,
  page: number | null,
  has: { next: boolean; previous: boolean },
): { ok: true } & MemberPage {
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    ok: true,
    members: rows.map(toMember),
    total,
    page,
    next: has.next && last ? encodeCursor(last) : null,
    previous: has.previous && first ? encodeCursor(first) : null,
  };
}

/**
 * A page of the account's active members in a stable order (name, then Slack id): after or
 * before a keyset cursor, or by page number. One statement does the operation's own admin
 * check, reads the total (kept by a trigger) and the page.
 */
export async function listMembers(
  services: Services,
  actor: Actor,
  request: PageRequest,
): Promise<Result<MemberPage, 'not_member' | 'not_admin'>> {
  const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(request.limit)));
  if (!('after' in request) && !('before' in request)) {
    const { role, total, rows, page } = await fetchPage(services, 'members_page_by_number', PAGE_BY_NUMBER, actor, [
      limit,
      Math.max(1, Math.min(1_000_000, Math.floor(request.page ?? 1))),
    ]);
    const refused = adminRefusal(role);
    if (refused) return refused;
    const pages = Math.max(1, Math.ceil(total / limit));
    return pageOf(rows, total, page, { next: page < pages, previous: page > 1 });
  }
  const backwards = 'before' in request;
  const key = decodeCursor(backwards ? request.before : (request as { after: string }).after);
  if (!key) return listMembers(services, actor, { limit });
  const { role, total, rows } = await fetchPage(
    services,
    backwards ? 'members_page_before' : 'members_page_after',
    backwards ? PAGE_BEFORE : PAGE_AFTER,
    actor,
    [limit + 1, key.sortName, key.slackUserId],
  );
  const refused = adminRefusal(role);
  if (refused) return refused;
  if (rows.length === 0 && total > 0) {
    // The members past the cursor left meanwhile: show the last page, or the first.
    return listMembers(services, actor, { limit, page: backwards ? 1 : Math.ceil(total / limit) });
  }
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  if (backwards) shown.reverse();
  return pageOf(shown, total, null, { next: backwards || more, previous: !backwards || more });
}

async function fetchPage(
  services: Services,
  name: string,
  sql: string,
  actor: Actor,
  values: Array<string | number>,
): Promise<{ role: Role | null; total: number; page: number; rows: MemberRow[] }> {
  const [row] = await prepared(services.knex, name, sql, [actor.accountId, actor.slackUserId, ...values]);
  const result = row as { actor_role: Role | null; total: number | null; page?: number; members: MemberRow[] };
  return {
    role: result.actor_role,
    total: Number(result.total ?? 0),
    page: Number(result.page ?? 1),
    rows: result.members,
  };
}
