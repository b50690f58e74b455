// Invitation caps: an admin may make INVITE_LIMIT_PER_DAY invitations in a rolling 24 hours (a
// link for anyone counts once), and nobody may invite the same person more than 5 times in 24
// hours. Refused invitations change nothing and say when the cap frees up.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import {
  actor,
  FakeDirectory,
  makeServices,
  newAccount,
  SEVEN_DAYS,
  snapshot,
  TestClock,
} from '../support/fixtures.js';

const DAY = 86_400;

describe.each(backends)('invitation caps on $name', (backend) => {
  let db: TestDatabase;
  let clock: TestClock;
  let services: Services;
  let account: Account;
  const ada = () => actor(account, 'UADA');
  const ben = () => actor(account, 'UBEN');

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    clock = new TestClock();
    services = makeServices(db.knex, clock, SEVEN_DAYS, new FakeDirectory(), { inviteLimitPerDay: 3 });
    account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADA' }, { slackUserId: 'UBEN' }]);
  });

  it('stops an admin at their limit over a rolling 24 hours; a link for anyone counts once', async () => {
    const first = clock.now();
    expect((await services.invites.create(ada(), { forSlackUserId: 'U1' })).ok).toBe(true);
    clock.advance(3_600);
    expect((await services.invites.create(ada(), { forSlackUserId: null, maxUses: 50 })).ok).toBe(true);
    expect(await services.invites.allowance(ada())).toEqual({
      limit: 3,
      left: 1,
      resetsAt: new Date(first.getTime() + DAY * 1000),
    });
    expect((await services.invites.create(ada(), { forSlackUserId: 'U2' })).ok).toBe(true);

    const before = await snapshot(db.knex, account.id);
    expect(await services.invites.create(ada(), { forSlackUserId: 'U3' })).toEqual({
      ok: false,
      reason: 'invite_limit',
      limit: 3,
      resetsAt: new Date(first.getTime() + DAY * 1000),
    });
    expect(await services.invites.create(ada(), { forSlackUserId: null })).toMatchObject({ reason: 'invite_limit' });
    // A member is told so, cap or not.
    expect(await services.invites.create(ada(), { forSlackUserId: 'UBEN' })).toEqual({
      ok: false,
      reason: 'already_member',
    });
    expect(await snapshot(db.knex, account.id)).toEqual(before);
    // Another admin has a limit of their own.
    expect((await services.invites.create(ben(), { forSlackUserId: 'U3' })).ok).toBe(true);
    // 24 hours after the first, one more.
    clock.advance(DAY - 3_600 + 1);
    expect((await services.invites.create(ada(), { forSlackUserId: 'U4' })).ok).toBe(true);
    expect(await services.invites.create(ada(), { forSlackUserId: 'U5' })).toMatchObject({ reason: 'invite_limit' });
  });

  it('lets nobody invite the same person more than 5 times in 24 hours', async () => {
    // INVITE_LIMIT_PER_DAY 0: no cap per admin, the cap per person still holds.
    const unlimited = makeServices(db.knex, clock);
    const first = clock.now();
    for (let i = 0; i < 5; i++) {
      expect((await unlimited.invites.create(i % 2 ? ben() : ada(), { forSlackUserId: 'UBOB' })).ok).toBe(true);
      clock.advance(60);
    }
    const before = await snapshot(db.knex, account.id);
    expect(await unlimited.invites.create(ben(), { forSlackUserId: 'UBOB' })).toEqual({
      ok: false,
      reason: 'invitee_invite_limit',
      limit: 5,
      resetsAt: new Date(first.getTime() + DAY * 1000),
    });
    expect(await snapshot(db.knex, account.id)).toEqual(before);
    expect((await unlimited.invites.create(ben(), { forSlackUserId: 'UCAROL' })).ok).toBe(true);
    // No limit per admin at all when INVITE_LIMIT_PER_DAY is 0.
    expect(await unlimited.invites.allowance(ada())).toBeUndefined();
  });

  it('holds with ten invitations at once (from any number of processes: the account lock)', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => services.invites.create(ada(), { forSlackUserId: `UR${i}` })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.reason === 'invite_limit')).toHaveLength(7);
  });
});
