// Who asks is read fresh for every request; the reads of requests that arrive in the same turn
// of the event loop share one statement (src/services/db.ts, coalesced).
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { coalesced } from '../../src/services/db.js';
import type { Services } from '../../src/services/index.js';
import { changeRole } from '../../src/services/operations/change-role.js';
import { listMembers } from '../../src/services/operations/list-members.js';
import { removeMember } from '../../src/services/operations/remove-member.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount, TestClock } from '../support/fixtures.js';

describe('coalesced reads', () => {
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('reads the keys asked for in one turn at once, in order, and each turn afresh', async () => {
    const calls: string[][] = [];
    const read = coalesced(async (keys: string[]) => {
      calls.push(keys);
      return keys.map((k) => k.toUpperCase());
    });
    expect(await Promise.all([read('a'), read('b'), read('a')])).toEqual(['A', 'B', 'A']);
    expect(await read('c')).toBe('C');
    expect(calls).toEqual([['a', 'b', 'a'], ['c']]);
  });

  it('fails every caller of a failed read, and the next turn reads again', async () => {
    let fail = true;
    const read = coalesced(async (keys: number[]) => {
      if (fail) throw new Error('database unavailable');
      return keys.map((k) => k * 2);
    });
    const results = await Promise.allSettled([read(1), read(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await Promise.all([read(3), read(4)])).toEqual([6, 8]);
  });

  it('refuses an answer that does not give one value per key', async () => {
    const read = coalesced(async (keys: number[]) => keys.slice(1));
    await expect(Promise.all([read(1), read(2)])).rejects.toThrow(/1 values for 2 keys/);
  });

  it('sends a full batch at once and starts the next', async () => {
    const sizes: number[] = [];
    const read = coalesced(async (keys: number[]) => {
      sizes.push(keys.length);
      return keys;
    });
    const asked = Array.from({ length: 450 }, (_, i) => read(i));
    expect(await Promise.all(asked)).toEqual(Array.from({ length: 450 }, (_, i) => i));
    await turn();
    await turn();
    // No empty read after them (the full batches' own turns find nothing left to send).
    expect(sizes).toEqual([200, 200, 50]);
  });
});

describe.each(backends)('who asks on $name', (backend) => {
  let db: TestDatabase;
  let services: Services;
  let account: Account;

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  beforeEach(async () => {
    services = makeServices(db.knex, new TestClock());
    account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [
      { slackUserId: 'UADMIN', displayName: 'Ada' },
      { slackUserId: 'UADMIN2', displayName: 'Bea' },
    ]);
    await insertMembers(db.knex, account, [{ slackUserId: 'UUSER', displayName: 'Cy' }]);
  });

  it('answers requests that ask at once with one statement, each with their own answer', async () => {
    const other = await newAccount(services, 'Other');
    await insertMembers(db.knex, other, [{ slackUserId: 'UADMIN', role: 'AccountUser' }]);
    const client = db.knex.client as { acquireConnection: () => Promise<unknown> };
    const acquired = vi.spyOn(client, 'acquireConnection');
    try {
      const [admin, user, stranger, elsewhere, noAccount] = await Promise.all([
        services.accounts.resolveActor(account.id, 'UADMIN'),
        services.accounts.resolveActor(account.id, 'UUSER'),
        services.accounts.resolveActor(account.id, 'UNOBODY'),
        services.accounts.resolveActor(other.id, 'UADMIN'),
        services.accounts.resolveActor(987_654_321, 'UADMIN'),
      ]);
      expect(acquired).toHaveBeenCalledTimes(1);
      expect(admin).toMatchObject({
        account: { id: account.id },
        member: { slackUserId: 'UADMIN', role: 'AccountAdmin', status: 'active' },
        noUsableAdmin: false,
      });
      expect(user?.member).toMatchObject({ slackUserId: 'UUSER', role: 'AccountUser' });
      expect(stranger).toMatchObject({ account: { id: account.id }, member: null });
      expect(elsewhere).toMatchObject({ account: { id: other.id }, member: { role: 'AccountUser' } });
      expect(noAccount).toBeUndefined();
    } finally {
      acquired.mockRestore();
    }
  });

  it('never answers from an earlier read: a demotion or a removal counts from the next request', async () => {
    expect((await services.accounts.resolveActor(account.id, 'UADMIN2'))?.member?.role).toBe('AccountAdmin');
    await changeRole(services, actor(account, 'UADMIN'), { user: 'UADMIN2', role: 'AccountUser' });
    expect((await services.accounts.resolveActor(account.id, 'UADMIN2'))?.member?.role).toBe('AccountUser');
    const [before] = await Promise.all([
      services.accounts.resolveActor(account.id, 'UUSER'),
      services.accounts.resolveActor(account.id, 'UADMIN'),
    ]);
    expect(before?.member?.status).toBe('active');
    await removeMember(services, actor(account, 'UADMIN'), { user: 'UUSER' });
    expect((await services.accounts.resolveActor(account.id, 'UUSER'))?.member?.status).toBe('removed');
  });

  it('answers the same read for several askers in one statement, each for their own values', async () => {
    await insertMembers(
      db.knex,
      account,
      Array.from({ length: 6 }, (_, i) => ({ slackUserId: `UMORE${i}`, displayName: `More ${i}` })),
    );
    const client = db.knex.client as { acquireConnection: () => Promise<unknown> };
    const acquired = vi.spyOn(client, 'acquireConnection');
    try {
      const [first, second, user, stranger] = await Promise.all([
        // Pages by number past the first (the first page is a statement of its own).
        listMembers(services, actor(account, 'UADMIN'), { limit: 3, page: 2 }),
        listMembers(services, actor(account, 'UADMIN2'), { limit: 3, page: 3 }),
        listMembers(services, actor(account, 'UUSER'), { limit: 3, page: 2 }),
        listMembers(services, actor(account, 'UNOBODY'), { limit: 3, page: 2 }),
      ]);
      expect(acquired).toHaveBeenCalledTimes(1);
      const names = (page: typeof first) => (page.ok ? page.members.map((m) => m.displayName) : page.reason);
      expect(names(first)).toEqual(['More 0', 'More 1', 'More 2']);
      expect(names(second)).toEqual(['More 3', 'More 4', 'More 5']);
      expect(names(user)).toBe('not_admin');
      expect(names(stranger)).toBe('not_member');
    } finally {
      acquired.mockRestore();
    }
  });

  it('answers the first page (a statement of its own) with the same check of who asks', async () => {
    const [first, user, stranger] = await Promise.all([
      listMembers(services, actor(account, 'UADMIN'), { limit: 2 }),
      listMembers(services, actor(account, 'UUSER'), { limit: 2, page: 1 }),
      listMembers(services, actor(account, 'UNOBODY'), { limit: 2 }),
    ]);
    expect(first).toMatchObject({ ok: true, page: 1, previous: null });
    expect(first.ok && first.members.map((m) => m.displayName)).toEqual(['Ada', 'Bea']);
    expect(first.ok && first.next).not.toBeNull();
    expect(user).toEqual({ ok: false, reason: 'not_admin' });
    expect(stranger).toEqual({ ok: false, reason: 'not_member' });
  });

  it('reads times as they are stored, to the millisecond (sent as numbers in JSON rows)', async () => {
    const at = new Date('2026-03-04T05:06:07.891Z');
    await db.knex('members').where({ account_id: account.id, slack_user_id: 'UUSER' }).update({ registered_at: at });
    await db
      .knex('members')
      .where({ account_id: account.id, slack_user_id: 'UADMIN2' })
      .update({ registered_at: db.knex.raw("'1999-12-31 23:59:59.999999+00'::timestamptz") });
    const [who, page] = await Promise.all([
      services.accounts.resolveActor(account.id, 'UUSER'),
      listMembers(services, actor(account, 'UADMIN'), { limit: 3, page: 1 }),
    ]);
    expect(who?.member?.registeredAt.toISOString()).toBe(at.toISOString());
    expect(who?.member?.slackDeactivatedAt).toBeNull();
    const bea = page.ok ? page.members.find((m) => m.slackUserId === 'UADMIN2') : undefined;
    // Microseconds are dropped, as a Date keeps milliseconds.
    expect(bea?.registeredAt.toISOString()).toBe('1999-12-31T23:59:59.999Z');
  });

  it('says when the account has AccountAdmins but none who can act', async () => {
    await db.knex('members').where({ account_id: account.id, role: 'AccountAdmin' }).update({
      slack_deactivated_at: new Date(),
    });
    const [user, admin] = await Promise.all([
      services.accounts.resolveActor(account.id, 'UUSER'),
      services.accounts.resolveActor(account.id, 'UADMIN'),
    ]);
    expect(user?.noUsableAdmin).toBe(true);
    expect(admin?.noUsableAdmin).toBe(true);
  });
});
