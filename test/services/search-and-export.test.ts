// Searching members and exporting them, at the operations: what a filter finds and counts, how
// pages of a search follow each other, and what an export writes and records.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import { EXPORT_CHUNK, exportData } from '../../src/services/operations/export-data.js';
import { containsPattern, listMembers, SEARCH_CAP } from '../../src/services/operations/list-members.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount, RecordingNotifier, TestClock } from '../support/fixtures.js';

/** RFC 4180 back into rows (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe.each(backends)('search and export on $name', (backend) => {
  let db: TestDatabase;
  let services: Services;
  let notifier: RecordingNotifier;
  let account: Account;
  const admin = () => actor(account, 'UADMIN');

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  beforeEach(async () => {
    notifier = new RecordingNotifier();
    services = makeServices(db.knex, new TestClock(), undefined, undefined, { notifier });
    account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADMIN', displayName: 'Ada Admin' }]);
  });

  const names = (page: Awaited<ReturnType<typeof listMembers>>) =>
    page.ok ? page.members.map((m) => m.displayName) : page.reason;

  it('finds a text in names and emails, any case, with LIKE’s wildcards taken literally', async () => {
    await insertMembers(db.knex, account, [
      { slackUserId: 'U1', displayName: 'Banana Split' },
      { slackUserId: 'U2', displayName: 'Zed', email: 'ANA@example.test' },
      { slackUserId: 'U3', displayName: 'Bob', email: 'bob@example.test' },
      { slackUserId: 'U4', displayName: '50% Off' },
      { slackUserId: 'U5', displayName: '500 Offers' },
      { slackUserId: 'U6', displayName: 'a_b' },
      { slackUserId: 'U7', displayName: 'axb' },
    ]);
    expect(names(await listMembers(services, admin(), { limit: 10, filter: { text: 'ANA' } }))).toEqual([
      'Banana Split',
      'Zed',
    ]);
    expect(names(await listMembers(services, admin(), { limit: 10, filter: { text: '50%' } }))).toEqual(['50% Off']);
    expect(names(await listMembers(services, admin(), { limit: 10, filter: { text: 'a_b' } }))).toEqual(['a_b']);
    expect(containsPattern('50%_\\x')).toBe('%50\\%\\_\\\\x%');
    const none = await listMembers(services, admin(), { limit: 10, filter: { text: 'nobody here' } });
    expect(none).toMatchObject({ ok: true, total: 0, members: [], more: false });
  });

  it('finds a text within the name or within the email, never across the two', async () => {
    // search_text holds the name, U+0001, the email: a text spanning the join matches nobody.
    await insertMembers(db.knex, account, [
      { slackUserId: 'U1', displayName: 'Ana Okafor', email: 'Ana.O@Bees.Test' },
      { slackUserId: 'U2', displayName: 'Ben' },
    ]);
    const search = async (text: string) => names(await listMembers(services, admin(), { limit: 10, filter: { text } }));
    expect(await search('okafor')).toEqual(['Ana Okafor']);
    expect(await search('o@bees')).toEqual(['Ana Okafor']);
    expect(await search('okafor ana.o')).toEqual([]);
    expect(await search('okafor\u0001ana.o')).toEqual([]);
    expect(await search('r\u0001a')).toEqual([]);
    // A control character is a space; one alone is no filter (the whole list); NUL is no error.
    expect(await search('ana\nokafor')).toEqual(['Ana Okafor']);
    expect(await search('\u0001')).toEqual(['Ada Admin', 'Ana Okafor', 'Ben']);
    expect(await search('ben\u0000')).toEqual(['Ben']);
    const echoed = await listMembers(services, admin(), { limit: 10, filter: { text: ' ana\tokafor ' } });
    expect(echoed).toMatchObject({ ok: true, filter: { text: 'ana okafor' }, total: 1 });
  });

  it('lists one role with its true total, page by page', async () => {
    await insertMembers(
      db.knex,
      account,
      Array.from({ length: 30 }, (_, i) => ({
        slackUserId: `U${String(i).padStart(3, '0')}`,
        displayName: `Person ${String(i).padStart(3, '0')}`,
        role: i < 4 ? ('AccountAdmin' as const) : ('AccountUser' as const),
      })),
    );
    const admins = await listMembers(services, admin(), { limit: 10, filter: { role: 'AccountAdmin' } });
    expect(admins).toMatchObject({ ok: true, total: 5, page: 1, next: null });
    const users = await listMembers(services, admin(), { limit: 10, page: 3, filter: { role: 'AccountUser' } });
    expect(users).toMatchObject({ ok: true, total: 26, page: 3 });
    expect(names(users)).toEqual(['Person 024', 'Person 025', 'Person 026', 'Person 027', 'Person 028', 'Person 029']);
    // Past the end: the last page.
    expect(await listMembers(services, admin(), { limit: 10, page: 9, filter: { role: 'AccountUser' } })).toMatchObject(
      {
        page: 3,
      },
    );
  });

  it('follows a search by its cursors both ways, and caps what it counts', async () => {
    await insertMembers(
      db.knex,
      account,
      Array.from({ length: SEARCH_CAP + 5 }, (_, i) => ({
        slackUserId: `U${String(i).padStart(5, '0')}`,
        displayName: `Match ${String(i).padStart(5, '0')}`,
      })),
    );
    const first = await listMembers(services, admin(), { limit: 10, filter: { text: 'match' } });
    expect(first).toMatchObject({ ok: true, total: SEARCH_CAP, more: true, previous: null });
    if (!first.ok || !first.next) throw new Error('no next page');
    const second = await listMembers(services, admin(), { limit: 10, after: first.next, filter: { text: 'match' } });
    expect(names(second)).toEqual(Array.from({ length: 10 }, (_, i) => `Match ${String(i + 10).padStart(5, '0')}`));
    if (!second.ok || !second.previous) throw new Error('no previous page');
    const back = await listMembers(services, admin(), {
      limit: 10,
      before: second.previous,
      filter: { text: 'match' },
    });
    expect(names(back)).toEqual(names(first));
    const narrower = await listMembers(services, admin(), { limit: 10, filter: { text: 'match 00100' } });
    expect(narrower).toMatchObject({ total: 1, more: false });
  });

  it('knows how many emails a common text matches, so a search walks the name order for them', async () => {
    // Searched as lower(email) (its trigram index partial: no statistics kept) the planner
    // guessed a handful of matches and read every one of them through the index. The searched
    // column (search_text, migration 021) has statistics of its own.
    await insertMembers(
      db.knex,
      account,
      Array.from({ length: 3000 }, (_, i) => ({ slackUserId: `UE${i}`, email: `person${i}@Bees.Test` })),
    );
    await db.knex.raw('ANALYZE members');
    const plan = await db.knex.raw(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM members m
       WHERE m.account_id = ? AND m.status = 'active' AND m.search_text LIKE ?`,
      [account.id, containsPattern('bees.test')],
    );
    const estimate = (plan.rows[0]['QUERY PLAN'] as Array<{ Plan: { 'Plan Rows': number } }>)[0]?.Plan['Plan Rows'];
    expect(estimate).toBeGreaterThan(1000);
    const found = await listMembers(services, admin(), { limit: 10, filter: { text: 'BEES.test' } });
    expect(found).toMatchObject({ ok: true, total: SEARCH_CAP, more: true });
  });

  it('refuses a search to an AccountUser and to a non-member', async () => {
    await insertMembers(db.knex, account, [{ slackUserId: 'UUSER', displayName: 'Una' }]);
    expect(await listMembers(services, actor(account, 'UUSER'), { limit: 10, filter: { text: 'a' } })).toMatchObject({
      ok: false,
      reason: 'not_admin',
    });
    expect(
      await listMembers(services, actor(account, 'UNONE'), { limit: 10, filter: { role: 'AccountAdmin' } }),
    ).toMatchObject({ ok: false, reason: 'not_member' });
  });

  it('exports every member, removed ones after, across chunks, and records the export first', async () => {
    const count = EXPORT_CHUNK + 10;
    await insertMembers(
      db.knex,
      account,
      Array.from({ length: count }, (_, i) => ({
        slackUserId: `U${String(i).padStart(5, '0')}`,
        displayName: i === 0 ? '=HYPERLINK("http://evil.test","x")' : `Person ${String(i).padStart(5, '0')}`,
        email: `p${i}@example.test`,
      })),
    );
    await db
      .knex('members')
      .where({ account_id: account.id, slack_user_id: 'U00001' })
      .update({
        status: 'removed',
        removed_at: new Date('2026-11-30T10:00:00Z'),
        removed_by: 'UADMIN',
      });
    const outcome = await exportData(services, admin(), { what: 'members' });
    expect(outcome).toMatchObject({ ok: true, what: 'members', rows: count + 1 });
    const [file] = notifier.files;
    expect(file?.to).toBe('UADMIN');
    const content = file?.content ?? '';
    expect(content.startsWith('\uFEFF')).toBe(true);
    const rows = parseCsv(content.slice(1));
    expect(rows[0]).toEqual([
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
    ]);
    expect(rows).toHaveLength(count + 2);
    const ids = rows.slice(1).map((r) => r[0]);
    expect(new Set(ids).size).toBe(count + 1);
    // The removed one last; the hostile name neutralised.
    expect(rows[rows.length - 1]?.slice(0, 5)).toEqual([
      'U00001',
      'Person 00001',
      'p1@example.test',
      'AccountUser',
      'removed',
    ]);
    expect(rows[rows.length - 1]?.[8]).toBe('2026-11-30T10:00:00Z');
    expect(rows.find((r) => r[0] === 'U00000')?.[1]).toBe('\'=HYPERLINK("http://evil.test","x")');
    const [entry] = await db.knex('audit_log').where({ account_id: account.id, action: 'members.exported' });
    expect(entry).toMatchObject({ actor: 'UADMIN', source: 'slash_command' });
    expect(entry?.after).toMatchObject({ rows: count + 1, bytes: Buffer.byteLength(content) });
  });

  it('exports the audit log of the last days, newest first, and says so when the file is refused', async () => {
    const now = services.now();
    const old = new Date(now.getTime() - 40 * 86_400_000);
    await db.knex('audit_log').insert([
      { account_id: account.id, actor: 'UADMIN', action: 'invite.created', source: 'slash_command', created_at: old },
      {
        account_id: account.id,
        actor: 'UADMIN',
        action: 'member.role_changed',
        target_slack_user_id: 'UADMIN',
        before: JSON.stringify({ role: 'AccountUser' }),
        after: JSON.stringify({ role: 'AccountAdmin' }),
        source: 'console',
        created_at: now,
      },
    ]);
    expect(await exportData(services, admin(), { what: 'audit', days: 30 })).toMatchObject({ ok: true, days: 30 });
    const recent = parseCsv((notifier.files[0]?.content ?? '').slice(1));
    expect(recent.map((r) => r[3])).toEqual(['what', 'member.role_changed', 'member.bootstrapped']);
    expect(JSON.parse(recent[1]?.[6] ?? '{}')).toEqual({
      source: 'console',
      before: { role: 'AccountUser' },
      after: { role: 'AccountAdmin' },
    });
    expect(recent[1]?.[2]).toBe('Ada Admin');
    expect(await exportData(services, admin(), { what: 'audit', days: 365 })).toMatchObject({ ok: true });
    const year = parseCsv((notifier.files[1]?.content ?? '').slice(1));
    // The first export is in the log now, and the old entry is within a year (newest first by
    // the order entries were written: the old one was written after the bootstrap).
    expect(year.map((r) => r[3])).toEqual([
      'what',
      'audit.exported',
      'member.role_changed',
      'invite.created',
      'member.bootstrapped',
    ]);

    notifier.fileDelivery = { ok: false, error: 'missing_scope' };
    expect(await exportData(services, admin(), { what: 'members' })).toEqual({
      ok: false,
      reason: 'files_not_allowed',
    });
    notifier.fileDelivery = { ok: false, error: 'internal_error' };
    expect(await exportData(services, admin(), { what: 'members' })).toEqual({
      ok: false,
      reason: 'file_not_delivered',
    });
  });

  it('refuses an export to an AccountUser, with nothing written or sent', async () => {
    await insertMembers(db.knex, account, [{ slackUserId: 'UUSER', displayName: 'Una' }]);
    const before = await db.knex('audit_log').where({ account_id: account.id }).count<{ n: number }[]>({ n: '*' });
    expect(await exportData(services, actor(account, 'UUSER'), { what: 'members' })).toEqual({
      ok: false,
      reason: 'not_admin',
    });
    expect(notifier.files).toEqual([]);
    expect(await db.knex('audit_log').where({ account_id: account.id }).count<{ n: number }[]>({ n: '*' })).toEqual(
      before,
    );
  });
});
