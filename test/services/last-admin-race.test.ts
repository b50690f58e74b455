// Two admins demoting (or removing) each other at the same instant, from separate
// connections, must never leave the account without an AccountAdmin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openPostgres } from '../../src/db/database.js';
import type { Services } from '../../src/services/index.js';
import { changeRole } from '../../src/services/operations/change-role.js';
import { removeMember } from '../../src/services/operations/remove-member.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount } from '../support/fixtures.js';

const ROUNDS = 50;

describe.each(backends)('the last-admin rule under races on $name', (backend) => {
  let db: TestDatabase;
  let second: Database | undefined;
  let one: Services;
  let two: Services;
  let account: Account;

  beforeAll(async () => {
    db = await backend.open();
    // On PostgreSQL the two admins act through two separate pools, as two processes would.
    second = db.url ? openPostgres(db.url, { pooler: db.pooler }) : undefined;
    one = makeServices(db.knex);
    two = makeServices(second ? second.knex : db.knex);
    account = await newAccount(one);
    await insertMembers(db.knex, account, [
      { slackUserId: 'UA', role: 'AccountAdmin' },
      { slackUserId: 'UB', role: 'AccountAdmin' },
    ]);
  });
  afterAll(async () => {
    await second?.close();
    await db?.close();
  });

  async function resetBothAdmins() {
    await db
      .knex('members')
      .where({ account_id: account.id })
      .update({ role: 'AccountAdmin', status: 'active', removed_at: null, removed_by: null });
  }

  async function activeAdmins(): Promise<number> {
    const row = await db
      .knex('members')
      .where({ account_id: account.id, status: 'active', role: 'AccountAdmin' })
      .count({ n: '*' })
      .first();
    return Number(row?.n);
  }

  it(`demoting each other, ${ROUNDS} rounds: exactly one wins, never zero admins`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await resetBothAdmins();
      const [a, b] = await Promise.all([
        changeRole(one, actor(account, 'UA'), { user: 'UB', role: 'AccountUser' }),
        changeRole(two, actor(account, 'UB'), { user: 'UA', role: 'AccountUser' }),
      ]);
      expect(await activeAdmins()).toBe(1);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      const loser = a.ok ? b : a;
      expect(loser).toEqual({ ok: false, reason: 'not_admin' });
    }
  });

  it(`removing each other, ${ROUNDS} rounds: exactly one wins, never zero admins`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await resetBothAdmins();
      const [a, b] = await Promise.all([
        removeMember(one, actor(account, 'UA'), { user: 'UB' }),
        removeMember(two, actor(account, 'UB'), { user: 'UA' }),
      ]);
      expect(await activeAdmins()).toBe(1);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
    }
  });

  it(`each demoting themselves at once, ${ROUNDS} rounds: one stays admin`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await resetBothAdmins();
      const results = await Promise.all([
        changeRole(one, actor(account, 'UA'), { user: 'UA', role: 'AccountUser' }),
        changeRole(two, actor(account, 'UB'), { user: 'UB', role: 'AccountUser' }),
      ]);
      expect(await activeAdmins()).toBe(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'last_admin' }]);
    }
  });
});
