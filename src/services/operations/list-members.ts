// A page of the account's members and their roles (`/chatbees-users list`, the console).
import { adminRefusal, IS_ADMIN_SQL, ME_SQL } from '../checks.js';
import { planned, together } from '../db.js';
import type { Services } from '../index.js';
import { JOB } from '../jobs.js';
import { jsonRows, LISTED_COLUMNS, rowsOf, toListedMember } from '../rows.js';
import { type Actor, type ListedMember, MAX_PAGE, pageNumber, type Result, type Role } from '../types.js';

export const MAX_PAGE_SIZE = 100;
/**
 * A search counts its matches up to this many (eight pages); past it, "more than": narrow the
 * search, or export the members. Counting is most of a common text's cost: two letters matched one
 * member in thirteen of 100,000, and counting 1,001 of them read 13,000 rows (2.3 ms of the
 * database's time); 201 read 2,600.
 */
export const SEARCH_CAP = 200;
/** Longest search text taken (a name or an email is shorter). */
export const MAX_SEARCH_LENGTH = 100;

/** Which members a list shows: those of one role, or those whose name or email contains a text. */
export type MemberFilter = { role: Role } | { text: string };

export interface MemberPage {
  members: ListedMember[];
  /** Active members in the account. */
  total: number;
  /** 1-based, when the page was asked for by number. */
  page: number | null;
  /** Opaque keyset cursors for the neighbouring pages, null at either end. */
  next: string | null;
  previous: string | null;
  /** What the list was narrowed to, if anything. */
  filter: MemberFilter | null;
  /** A search found more than SEARCH_CAP: `total` is then SEARCH_CAP. */
  more: boolean;
  /** Active members in the account, whatever the filter. */
  accountTotal: number;
}

export type PageRequest = (
  | { limit: number; page?: number }
  | { limit: number; after: string }
  | { limit: number; before: string }
) & { filter?: MemberFilter | null };

type MemberRow = Record<string, unknown> & { sort_name: string; slack_user_id: string };

// The actor's role and the account's total come with every page, in the same statement.
// $1 account, $2 actor, $3 page size (+1 for keyset reads, to tell whether there are more).
const ACTIVE = `m.account_id = $1 AND m.status = 'active'`;
// What a page shows of each member, and its keys: ten of the row's sixteen columns to turn into
// JSON and back (a page of 26 read one after another took 279 µs with every column, 150 µs with
// five: most of it the database's json_agg and the bot's parsing), as arrays (`jsonColumns`).
const LISTED = LISTED_COLUMNS.map((c) => `m.${c}`).join(', ');
const MEMBERS_JSON = (order: string) => jsonRows('chunk', LISTED_COLUMNS, order);
const RESULT = (order: string) => `SELECT (SELECT role FROM me) AS actor_role,
  (SELECT active_members FROM accounts WHERE id = $1) AS total,
  ${MEMBERS_JSON(order)} AS members`;
const KEYS = "SELECT b.sort_name, b.slack_user_id FROM members b WHERE b.account_id = $1 AND b.status = 'active'";

/** Every this many members in name order, an anchor: a page by number skips at most this less one. */
export const ANCHOR_EVERY = 200;

// Page $4: its first key is found from the nearest anchor before it (member_anchors, while they
// are of the account's members_version), skipping on the index alone at most ANCHOR_EVERY - 1
// members; without anchors, by skipping the members before it, or the members after it when
// that is fewer. Then the page is read by keyset from that key.
const PAGE_BY_NUMBER = `WITH ${ME_SQL},
  t AS (SELECT active_members AS total, members_version AS version FROM accounts WHERE id = $1),
  p AS (SELECT LEAST($4::int, GREATEST(1, CEIL(total::numeric / $3))::int) AS page, total FROM t),
  s AS (SELECT page, (page - 1) * $3 AS skip, total - (page - 1) * $3 - 1 AS skip_back,
               (page - 1) * $3 <= total / 2 AS forwards FROM p),
  anchor AS (SELECT a.position, a.sort_name, a.slack_user_id FROM member_anchors a
    WHERE a.account_id = $1 AND a.version = (SELECT version FROM t) AND a.position <= (SELECT skip FROM s)
    ORDER BY a.position DESC LIMIT 1),
  boundary AS (
    (${KEYS} AND (b.sort_name, b.slack_user_id) >= (SELECT sort_name, slack_user_id FROM anchor)
      ORDER BY b.sort_name, b.slack_user_id OFFSET (SELECT (SELECT skip FROM s) - position FROM anchor) LIMIT 1)
    UNION ALL
    (${KEYS} AND NOT EXISTS (SELECT 1 FROM anchor) AND (SELECT forwards FROM s)
      ORDER BY b.sort_name, b.slack_user_id OFFSET (SELECT skip FROM s) LIMIT 1)
    UNION ALL
    (${KEYS} AND NOT EXISTS (SELECT 1 FROM anchor) AND NOT (SELECT forwards FROM s)
      ORDER BY b.sort_name DESC, b.slack_user_id DESC OFFSET (SELECT GREATEST(skip_back, 0) FROM s) LIMIT 1)),
  chunk AS (
    SELECT ${LISTED} FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL}
      AND (m.sort_name, m.slack_user_id) >= (SELECT sort_name, slack_user_id FROM boundary)
    ORDER BY m.sort_name, m.slack_user_id
    LIMIT $3)
  ${RESULT('chunk.sort_name, chunk.slack_user_id')}, (SELECT page FROM s) AS page,
    EXISTS (SELECT 1 FROM anchor) AS anchored`;

// A page in name order, or backwards from a key: `after` narrows it to the members past the key
// ($4, $5). Without one, the first page (the list's and the console's opening): no page to find
// the start of.
function keysetPage(after: '' | '>' | '<'): string {
  const order = after === '<' ? 'sort_name DESC, slack_user_id DESC' : 'sort_name, slack_user_id';
  return `WITH ${ME_SQL},
  chunk AS (
    SELECT ${LISTED} FROM members m
    WHERE ${ACTIVE} AND ${IS_ADMIN_SQL}${after ? ` AND (m.sort_name, m.slack_user_id) ${after} ($4, $5)` : ''}
    ORDER BY ${order.replace(/(sort_name|slack_user_id)/g, 'm.$1')}
    LIMIT $3)
  ${RESULT(order.replace(/(sort_name|slack_user_id)/g, 'chunk.$1'))}`;
}
const PAGE_FIRST = keysetPage('');
const PAGE_AFTER = keysetPage('>');
const PAGE_BEFORE = keysetPage('<');

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
  filter: MemberFilter | null = null,
  accountTotal = total,
): { ok: true } & MemberPage {
  const first = rows[0];
  const last = rows[rows.length - 1];
  const more = filter !== null && 'text' in filter && total > SEARCH_CAP;
  return {
    ok: true,
    members: rows.map(toListedMember),
    total: more ? SEARCH_CAP : total,
    page,
    next: has.next && last ? encodeCursor(last) : null,
    previous: has.previous && first ? encodeCursor(first) : null,
    filter,
    more,
    accountTotal,
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
  const filter = normalFilter(request.filter);
  if (filter) return listFiltered(services, actor, request, limit, filter);
  if (!('after' in request) && !('before' in request)) {
    const asked = pageNumber(request.page);
    const { role, total, rows, page, anchored } = await (asked === 1
      ? fetchPage(services, 'members_page_first', PAGE_FIRST, actor, [limit])
      : fetchPage(services, 'members_page_by_number', PAGE_BY_NUMBER, actor, [limit, asked]));
    const refused = adminRefusal(role);
    if (refused) return refused;
    if (!anchored && (page - 1) * limit >= ANCHOR_EVERY) askForAnchors(services, actor.accountId);
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

/** A page's members as `jsonRows` sent them, keyed by column again. */
function memberRows(members: unknown): MemberRow[] {
  return rowsOf(LISTED_COLUMNS, members) as MemberRow[];
}

async function fetchPage(
  services: Services,
  name: string,
  sql: string,
  actor: Actor,
  values: Array<string | number>,
): Promise<{ role: Role | null; total: number; page: number; rows: MemberRow[]; anchored: boolean }> {
  // With the other pages asked for in this turn, in one statement.
  const row = await together(services.knex, name, sql, [actor.accountId, actor.slackUserId, ...values]);
  const result = row as {
    actor_role: Role | null;
    total: number | null;
    page?: number;
    members: unknown;
    anchored?: boolean;
  };
  return {
    role: result.actor_role,
    total: Number(result.total ?? 0),
    page: Number(result.page ?? 1),
    rows: memberRows(result.members),
    anchored: result.anchored === true,
  };
}

/**
 * When this process last asked for an account's anchors (by database, then account id): a burst
 * of deep pages read before the job ran asks once, not once each. Speed only: the job builds
 * nothing when the anchors are current, and a read without them is answered all the same.
 */
const anchorsAskedIn = new WeakMap<object, Map<number, number>>();
const ASK_AGAIN_MS = 10_000;

function askForAnchors(services: Services, accountId: number): void {
  const now = Date.now();
  let anchorsAsked = anchorsAskedIn.get(services.knex);
  if (!anchorsAsked) {
    anchorsAsked = new Map();
    anchorsAskedIn.set(services.knex, anchorsAsked);
  }
  if (now - (anchorsAsked.get(accountId) ?? -Infinity) < ASK_AGAIN_MS) return;
  if (anchorsAsked.size >= 10_000) anchorsAsked.clear();
  anchorsAsked.set(accountId, now);
  // Not waited for: the page is answered meanwhile. Not queued, the next deep page asks again.
  void services.jobs.later(services.knex, JOB.memberAnchors, { accountId }).catch(() => anchorsAsked.delete(accountId));
}

/**
 * The account's anchors for its members as they are now (the job `member-anchors`): every
 * ANCHOR_EVERY-th active member's key in name order, with the account's members_version, read
 * in one statement (one snapshot); anchors of other versions go. Nothing is built when the
 * current version has its anchors already. Says how many anchors it wrote.
 */
export async function buildAnchors(services: Services, accountId: number): Promise<number> {
  const [row] = await planned(
    services.knex,
    `WITH v AS (SELECT members_version AS version FROM accounts WHERE id = $1),
      gone AS (DELETE FROM member_anchors WHERE account_id = $1 AND version <> (SELECT version FROM v)),
      made AS (
        INSERT INTO member_anchors (account_id, version, position, sort_name, slack_user_id)
        SELECT $1, (SELECT version FROM v), k.position, k.sort_name, k.slack_user_id
        FROM (SELECT (row_number() OVER (ORDER BY sort_name, slack_user_id) - 1)::int AS position,
                     sort_name, slack_user_id
              FROM members WHERE account_id = $1 AND status = 'active') k
        WHERE k.position % ${ANCHOR_EVERY} = 0
          AND NOT EXISTS (SELECT 1 FROM member_anchors WHERE account_id = $1 AND version = (SELECT version FROM v))
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT count(*)::int AS made FROM made`,
    [accountId],
  );
  return Number(row?.made ?? 0);
}

// Control characters (C0 and DEL) in a search text become spaces: no name or email holds one,
// and `search_text` joins the name and the email with one (U+0001), which a text must not match.
// The rule is the domain's, whoever calls; the surfaces tidy a typed text further (C1 controls,
// runs of spaces: `searchFilter` in src/slack/command/parse.ts) before it gets here.
const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F]/g;

/** A filter worth applying: a role, or a text with something in it (controls as spaces, trimmed, at most 100). */
function normalFilter(filter: MemberFilter | null | undefined): MemberFilter | null {
  if (!filter) return null;
  if ('role' in filter) return { role: filter.role };
  const text = filter.text.replace(CONTROL_CHARACTERS, ' ').trim().slice(0, MAX_SEARCH_LENGTH);
  return text ? { text } : null;
}

/** `%text%` for LIKE, the text lower-cased (names are kept lower-cased) and its wildcards literal. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

// A filtered page: $1 account, $2 actor, $3 page size, $4 the role or the LIKE pattern, then
// $5 how many to skip (by number) or $5, $6 the key to start after or before.
const FILTERS = {
  role: 'm.role = $4',
  // The name and the lower-cased email in one column (migration 021), joined by U+0001.
  text: 'm.search_text LIKE $4',
} as const;
const ADMINS = "(SELECT count(*) FROM members WHERE account_id = $1 AND status = 'active' AND role = 'AccountAdmin')";
// Admins are few (an index of their own); everyone else is the account's count less them. A
// search counts its matches up to one past the cap.
const TOTALS = {
  AccountAdmin: ADMINS,
  AccountUser: `(SELECT active_members FROM accounts WHERE id = $1) - ${ADMINS}`,
  text: `(SELECT count(*) FROM (SELECT 1 FROM members m WHERE ${ACTIVE} AND ${FILTERS.text} LIMIT ${SEARCH_CAP + 1}) c)`,
} as const;

function filteredSql(filter: MemberFilter, where: 'offset' | 'after' | 'before'): string {
  const cond = 'role' in filter ? FILTERS.role : FILTERS.text;
  const total = TOTALS['role' in filter ? filter.role : 'text'];
  const backwards = where === 'before';
  const order = backwards ? 'sort_name DESC, slack_user_id DESC' : 'sort_name, slack_user_id';
  const key = where === 'offset' ? '' : `AND (m.sort_name, m.slack_user_id) ${backwards ? '<' : '>'} ($5, $6)`;
  // A search by page number: the first SEARCH_CAP + 1 matches in name order, found once (by the
  // trigram index for a rare text, by walking the name order for a common one), give both the
  // count and the page (pages by number stop at SEARCH_CAP). Otherwise the page's keys first: a
  // walk in name order then reads the page index alone (it holds `search_text` too).
  const searchByNumber = 'text' in filter && where === 'offset';
  const keys = searchByNumber
    ? `matches AS MATERIALIZED (
      SELECT m.sort_name, m.slack_user_id FROM members m
      WHERE ${ACTIVE} AND ${IS_ADMIN_SQL} AND ${cond}
      ORDER BY m.sort_name, m.slack_user_id
      LIMIT ${SEARCH_CAP + 1}),
    keys AS (SELECT slack_user_id FROM matches ORDER BY sort_name, slack_user_id OFFSET $5 LIMIT $3)`
    : `keys AS (
      SELECT m.slack_user_id FROM members m
      WHERE ${ACTIVE} AND ${IS_ADMIN_SQL} AND ${cond} ${key}
      ORDER BY ${order.replace(/(sort_name|slack_user_id)/g, 'm.$1')}
      ${where === 'offset' ? 'OFFSET $5' : ''} LIMIT $3)`;
  // Only the members shown are read from the table.
  return `WITH ${ME_SQL},
    ${keys},
    chunk AS (
      SELECT ${LISTED} FROM keys JOIN members m ON m.account_id = $1 AND m.slack_user_id = keys.slack_user_id)
    SELECT (SELECT role FROM me) AS actor_role, ${searchByNumber ? '(SELECT count(*) FROM matches)' : total} AS total,
      (SELECT active_members FROM accounts WHERE id = $1) AS account_total,
      ${MEMBERS_JSON(order.replace(/(sort_name|slack_user_id)/g, 'chunk.$1'))} AS members`;
}

/**
 * A page of the members of one role, or of those whose name or email contains a text, in the
 * same order as the whole list: by number (skipping; a search has at most SEARCH_CAP to skip
 * through, a role is read on its index) or after and before a key. Planned for its values each
 * time: a rare name is found through the trigram index, a common one by the name order.
 */
async function listFiltered(
  services: Services,
  actor: Actor,
  request: PageRequest,
  limit: number,
  filter: MemberFilter,
): Promise<Result<MemberPage, 'not_member' | 'not_admin'>> {
  const value = 'role' in filter ? filter.role : containsPattern(filter.text);
  const read = async (where: 'offset' | 'after' | 'before', values: Array<string | number>) => {
    const [row] = await planned(services.knex, filteredSql(filter, where), [
      actor.accountId,
      actor.slackUserId,
      ...values.slice(0, 1),
      value,
      ...values.slice(1),
    ]);
    const result = row as {
      actor_role: Role | null;
      total: number | null;
      account_total: number | null;
      members: unknown;
    };
    return {
      role: result.actor_role,
      total: Number(result.total ?? 0),
      accountTotal: Number(result.account_total ?? 0),
      rows: memberRows(result.members),
    };
  };
  if (!('after' in request) && !('before' in request)) {
    let page = pageNumber(request.page);
    let { role, total, rows, accountTotal } = await read('offset', [limit, (page - 1) * limit]);
    const refused = adminRefusal(role);
    if (refused) return refused;
    const shown = 'text' in filter ? Math.min(total, SEARCH_CAP) : total;
    const pages = Math.max(1, Math.ceil(shown / limit));
    if (page > pages) {
      // Past the end (or past what a search shows): the last page.
      page = pages;
      ({ total, rows, accountTotal } = await read('offset', [limit, (page - 1) * limit]));
    }
    return pageOf(rows, total, page, { next: page < pages, previous: page > 1 }, filter, accountTotal);
  }
  const backwards = 'before' in request;
  const key = decodeCursor(backwards ? request.before : (request as { after: string }).after);
  if (!key) return listFiltered(services, actor, { limit }, limit, filter);
  const { role, total, rows, accountTotal } = await read(backwards ? 'before' : 'after', [
    limit + 1,
    key.sortName,
    key.slackUserId,
  ]);
  const refused = adminRefusal(role);
  if (refused) return refused;
  if (rows.length === 0 && total > 0)
    return listFiltered(services, actor, { limit, page: backwards ? 1 : MAX_PAGE }, limit, filter);
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  if (backwards) shown.reverse();
  return pageOf(shown, total, null, { next: backwards || more, previous: !backwards || more }, filter, accountTotal);
}
