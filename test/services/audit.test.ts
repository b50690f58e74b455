import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import { readAudit } from '../../src/services/operations/read-audit.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, makeServices, newAccount, TestClock } from '../support/fixtures.js';

describe.each(backends)('refused attempts in the audit log on $name', (backend) => {
  let db: TestDatabase;
  let clock: TestClock;
  let services: Services;
  let account: Account;

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    clock = new TestClock();
    services = makeServices(db.knex, clock);
    account = await newAccount(services);
  });

  const refusals = async () =>
    (await db.knex('audit_log').where({ account_id: account.id, action: 'access.refused' }).orderBy('id')).map((r) => [
      r.actor,
      r.after.operation,
      r.after.reason,
    ]);

  it('records a repeated refusal once a minute per person and operation', async () => {
    const stranger = actor(account, 'USTRANGER');
    for (let i = 0; i < 5; i++)
      await services.audit.recordRefusal(stranger, { operation: 'list', reason: 'not_member' });
    await services.audit.recordRefusal(stranger, { operation: 'invite', reason: 'not_member' });
    await services.audit.recordRefusal(actor(account, 'UOTHER'), { operation: 'list', reason: 'not_member' });
    expect(await refusals()).toEqual([
      ['USTRANGER', 'list', 'not_member'],
      ['USTRANGER', 'invite', 'not_member'],
      ['UOTHER', 'list', 'not_member'],
    ]);

    clock.advance(59);
    await services.audit.recordRefusal(stranger, { operation: 'list', reason: 'not_member' });
    expect(await refusals()).toHaveLength(3);
    clock.advance(2);
    await services.audit.recordRefusal(stranger, { operation: 'list', reason: 'not_member' });
    expect(await refusals()).toHaveLength(4);
  });

  it('records a refusal once when the same one arrives many times at once', async () => {
    const stranger = actor(account, 'USTRANGER');
    // Open the pool's connections first, so the refusals really arrive together.
    await Promise.all(Array.from({ length: 8 }, () => db.knex.raw('SELECT pg_sleep(0.05)')));
    await Promise.all(
      Array.from({ length: 10 }, () =>
        services.audit.recordRefusal(stranger, { operation: 'list', reason: 'not_member' }),
      ),
    );
    expect(await refusals()).toEqual([['USTRANGER', 'list', 'not_member']]);
  });

  it('keeps refusals out of the list of changes', async () => {
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADMIN' }]);
    await services.audit.recordRefusal(actor(account, 'USTRANGER'), { operation: 'list', reason: 'not_member' });
    const latest = await readAudit(services, actor(account, 'UADMIN'), { limit: 10 });
    expect(latest.ok && latest.entries.map((e) => e.action)).toEqual(['member.bootstrapped']);
  });
});
