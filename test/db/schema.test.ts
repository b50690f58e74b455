// What migrations 016 to 021 leave behind, on both backends: the searched column (the name and
// the lower-cased email) kept by the database, the rate-limit counts in a table without a
// write-ahead log, and pending invites indexed in the order they are listed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listInvites } from '../../src/services/operations/list-invites.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount } from '../support/fixtures.js';

describe.each(backends)('schema on $name', (backend) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  it('keeps search_text as the sort name, U+0001 and the lower-cased email, on insert and on change', async () => {
    const account = await newAccount(makeServices(db.knex));
    await insertMembers(db.knex, account, [
      { slackUserId: 'UMIXED', displayName: 'Ana Müller', email: 'Ana.Müller@Bees.TEST' },
      { slackUserId: 'UNOMAIL', displayName: 'Ben' },
    ]);
    const read = (id: string) => db.knex('members').where({ slack_user_id: id }).first('search_text');
    expect(await read('UMIXED')).toEqual({ search_text: 'ana müller\u0001ana.müller@bees.test' });
    expect(await read('UNOMAIL')).toEqual({ search_text: 'ben\u0001' });
    await db.knex('members').where({ slack_user_id: 'UMIXED' }).update({ email: 'ANA@Other.Test', sort_name: 'ana m' });
    expect(await read('UMIXED')).toEqual({ search_text: 'ana m\u0001ana@other.test' });
  });

  it('searches through one trigram index over search_text, and the page index carries it', async () => {
    const { rows } = await db.knex.raw(
      "SELECT indexname FROM pg_indexes WHERE tablename = 'members' AND indexdef LIKE '%search_text%' ORDER BY 1",
    );
    const names = (rows as Array<{ indexname: string }>).map((r) => r.indexname);
    const trigrams = await db.knex.raw("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'");
    expect(names).toEqual(
      trigrams.rows.length > 0 ? ['members_active_page', 'members_search'] : ['members_active_page'],
    );
    const old = await db.knex.raw(
      "SELECT indexname FROM pg_indexes WHERE indexname IN ('members_name_search', 'members_email_search')",
    );
    expect(old.rows).toEqual([]);
    // "Contains" is estimated from search_text's 1,000-entry histogram; the name keeps the default
    // (-1 before PostgreSQL 17, NULL from it).
    const targets = await db.knex.raw(
      "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = 'members'::regclass AND attname IN ('search_text', 'sort_name') ORDER BY 1",
    );
    const target = (name: string) =>
      (targets.rows as Array<{ attname: string; attstattarget: number | null }>).find((r) => r.attname === name)
        ?.attstattarget;
    expect(target('search_text')).toBe(1000);
    expect([-1, null]).toContain(target('sort_name'));
  });

  it('keeps the rate-limit counts in an unlogged table', async () => {
    const { rows } = await db.knex.raw("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limits'");
    expect(rows).toEqual([{ relpersistence: 'u' }]);
  });

  it('reads pending invites in their listed order from the index, without sorting them', async () => {
    const services = makeServices(db.knex);
    const account = await newAccount(services);
    await insertMembers(db.knex, account, [{ slackUserId: 'UADMIN', role: 'AccountAdmin' }]);
    const expires = new Date(Date.now() + 86_400_000);
    // A bulk invitation's links expire at the same moment: the id decides their order.
    const ids = Array.from({ length: 300 }, (_, i) => `order${String(299 - i).padStart(5, '0')}`);
    await db.knex('invites').insert(
      ids.map((id, i) => ({
        id,
        account_id: account.id,
        created_by: 'UADMIN',
        for_slack_user_id: `UINV${i}`,
        role: 'AccountUser',
        created_at: new Date(),
        expires_at: expires,
        max_uses: 1,
        uses: 0,
      })),
    );
    const { rows } = await db.knex.raw(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'invites' AND indexname = 'invites_pending'",
    );
    expect(rows[0]?.indexdef).toMatch(/\(account_id, expires_at, id\) WHERE \(revoked_at IS NULL\)/);
    await db.knex.raw('ANALYZE invites');
    const plan = await db.knex.raw(
      `EXPLAIN SELECT * FROM invites i WHERE i.account_id = ? AND i.revoked_at IS NULL AND i.expires_at > now()
       ORDER BY i.expires_at, i.id LIMIT 101`,
      [account.id],
    );
    const text = plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('invites_pending');
    expect(text).not.toMatch(/Sort/);
    const listed = await listInvites(services, actor(account, 'UADMIN'), { limit: 100 });
    expect(listed.ok && listed.invites.map((i) => i.id)).toEqual([...ids].sort().slice(0, 100));
  });
});
