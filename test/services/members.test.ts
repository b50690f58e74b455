import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import { changeRole } from '../../src/services/operations/change-role.js';
import { listMembers } from '../../src/services/operations/list-members.js';
import { readAudit } from '../../src/services/operations/read-audit.js';
import { register } from '../../src/services/operations/register.js';
import { removeMember } from '../../src/services/operations/remove-member.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount, TestClock } from '../support/fixtures.js';

describe.each(backends)('members on $name', (backend) => {
  let db: TestDatabase;
  let services: Services;
  let account: Account;
  const admin = () => actor(account, 'UADMIN');

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  beforeEach(async () => {
    services = makeServices(db.knex, new TestClock());
    account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADMIN', displayName: 'Ada' }]);
  });

  const activeAdmins = async (accountId = account.id) =>
    (
      await db
        .knex('members')
        .where({ account_id: accountId, status: 'active', role: 'AccountAdmin' })
        .pluck('slack_user_id')
    ).sort();

  describe('bootstrap', () => {
    it('makes the initial admins only while the account has none, so a restart never undoes a demotion', async () => {
      const fresh = await newAccount(services, 'Fresh');
      expect(await services.members.bootstrapAdmins(fresh.id, [{ slackUserId: 'UA' }, { slackUserId: 'UB' }])).toEqual({
        promoted: ['UA', 'UB'],
      });
      expect(await activeAdmins(fresh.id)).toEqual(['UA', 'UB']);
      await changeRole(services, actor(fresh, 'UB'), { user: 'UA', role: 'AccountUser' });
      // Restart with INITIAL_ADMINS=UA,UB still set.
      expect(await services.members.bootstrapAdmins(fresh.id, [{ slackUserId: 'UA' }, { slackUserId: 'UB' }])).toEqual({
        promoted: [],
      });
      expect(await activeAdmins(fresh.id)).toEqual(['UB']);
      const audit = await readAudit(services, actor(fresh, 'UB'), { limit: 10 });
      expect(audit.ok && audit.entries.filter((e) => e.action === 'member.bootstrapped')).toHaveLength(2);
      expect(audit.ok && audit.entries.find((e) => e.action === 'member.bootstrapped')).toMatchObject({
        actor: 'system',
        source: 'bootstrap',
        after: { role: 'AccountAdmin', status: 'active' },
      });
    });
  });

  it('keeps the account member count exact through joins, removals and returns', async () => {
    const counted = async () =>
      Number(
        (await db.knex('members').where({ account_id: account.id, status: 'active' }).count({ n: '*' }).first())?.n,
      );
    const stored = async () => (await db.knex('accounts').where({ id: account.id }).first()).active_members;
    await insertMembers(db.knex, account, [{ slackUserId: 'UC1' }, { slackUserId: 'UC2' }]);
    await removeMember(services, admin(), { user: 'UC1' });
    await changeRole(services, admin(), { user: 'UC2', role: 'AccountAdmin' });
    const again = await services.invites.create(admin(), { forSlackUserId: 'UC1' });
    if (!again.ok) throw new Error(again.reason);
    await register(services, again.token);
    expect(await stored()).toBe(3);
    expect(await stored()).toBe(await counted());
    const page = await listMembers(services, admin(), { limit: 10 });
    expect(page.ok && page.total).toBe(3);
  });

  describe('change role', () => {
    beforeEach(async () => {
      await insertMembers(db.knex, account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
    });

    it('promotes and demotes, auditing before and after', async () => {
      const promoted = await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' });
      expect(promoted.ok && promoted.changed && promoted.member.role).toBe('AccountAdmin');
      const demoted = await changeRole(services, admin(), { user: 'UBOB', role: 'AccountUser' });
      expect(demoted.ok && demoted.member.role).toBe('AccountUser');
      const audit = await readAudit(services, admin(), { limit: 2 });
      expect(audit.ok && audit.entries.map((e) => [e.action, e.targetSlackUserId, e.before, e.after])).toEqual([
        ['member.role_changed', 'UBOB', { role: 'AccountAdmin' }, { role: 'AccountUser' }],
        ['member.role_changed', 'UBOB', { role: 'AccountUser' }, { role: 'AccountAdmin' }],
      ]);
    });

    it('does nothing when the role is already the one asked for', async () => {
      const same = await changeRole(services, admin(), { user: 'UBOB', role: 'AccountUser' });
      expect(same.ok && same.changed).toBe(false);
      const audit = await readAudit(services, admin(), { limit: 10 });
      expect(audit.ok && audit.entries.some((e) => e.action === 'member.role_changed')).toBe(false);
    });

    it('refuses to demote the last AccountAdmin, the actor themselves included', async () => {
      expect(await changeRole(services, admin(), { user: 'UADMIN', role: 'AccountUser' })).toEqual({
        ok: false,
        reason: 'last_admin',
      });
      expect(await activeAdmins()).toEqual(['UADMIN']);
      await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' });
      const self = await changeRole(services, admin(), { user: 'UADMIN', role: 'AccountUser' });
      expect(self.ok).toBe(true);
      expect(await activeAdmins()).toEqual(['UBOB']);
    });

    it('refuses unknown and removed members', async () => {
      expect(await changeRole(services, admin(), { user: 'UNOBODY', role: 'AccountAdmin' })).toEqual({
        ok: false,
        reason: 'unknown_member',
      });
      await removeMember(services, admin(), { user: 'UBOB' });
      expect(await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' })).toEqual({
        ok: false,
        reason: 'unknown_member',
      });
    });

    it('refuses an actor who is not an active AccountAdmin, checked in the service', async () => {
      expect(await changeRole(services, actor(account, 'UBOB'), { user: 'UBOB', role: 'AccountAdmin' })).toEqual({
        ok: false,
        reason: 'not_admin',
      });
      expect(await changeRole(services, actor(account, 'USTRANGER'), { user: 'UBOB', role: 'AccountAdmin' })).toEqual({
        ok: false,
        reason: 'not_member',
      });
      // An admin demoted a moment ago can no longer act.
      await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' });
      await changeRole(services, actor(account, 'UBOB'), { user: 'UADMIN', role: 'AccountUser' });
      expect(await changeRole(services, admin(), { user: 'UBOB', role: 'AccountUser' })).toEqual({
        ok: false,
        reason: 'not_admin',
      });
      expect(await activeAdmins()).toEqual(['UBOB']);
    });

    it("cannot touch another account's members", async () => {
      const other = await newAccount(services, 'Other');
      await services.members.bootstrapAdmins(other.id, [{ slackUserId: 'UOTHER' }]);
      expect(await changeRole(services, actor(other, 'UOTHER'), { user: 'UBOB', role: 'AccountAdmin' })).toEqual({
        ok: false,
        reason: 'unknown_member',
      });
      expect(await changeRole(services, actor(other, 'UADMIN'), { user: 'UBOB', role: 'AccountAdmin' })).toEqual({
        ok: false,
        reason: 'not_member',
      });
    });
  });

  describe('remove', () => {
    beforeEach(async () => {
      await insertMembers(db.knex, account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
    });

    it('soft-deletes: the row and its history stay, access ends', async () => {
      const removed = await removeMember(services, admin(), { user: 'UBOB' });
      expect(removed.ok && removed.member).toMatchObject({ status: 'removed', removedBy: 'UADMIN' });
      const row = await db.knex('members').where({ account_id: account.id, slack_user_id: 'UBOB' }).first();
      expect(row).toMatchObject({ status: 'removed', removed_by: 'UADMIN', display_name: 'Bob' });
      expect(row.removed_at).toBeInstanceOf(Date);
      const audit = await readAudit(services, admin(), { limit: 1 });
      expect(audit.ok && audit.entries[0]).toMatchObject({
        action: 'member.removed',
        actor: 'UADMIN',
        targetSlackUserId: 'UBOB',
        before: { status: 'active', role: 'AccountUser' },
      });
      expect(await removeMember(services, admin(), { user: 'UBOB' })).toEqual({ ok: false, reason: 'unknown_member' });
    });

    it('refuses to remove the last AccountAdmin, the actor themselves included', async () => {
      expect(await removeMember(services, admin(), { user: 'UADMIN' })).toEqual({ ok: false, reason: 'last_admin' });
      await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' });
      expect((await removeMember(services, admin(), { user: 'UADMIN' })).ok).toBe(true);
      expect(await activeAdmins()).toEqual(['UBOB']);
      // The removed admin can no longer act.
      expect(await removeMember(services, admin(), { user: 'UBOB' })).toEqual({ ok: false, reason: 'not_member' });
    });

    it('is refused to AccountUsers', async () => {
      expect(await removeMember(services, actor(account, 'UBOB'), { user: 'UADMIN' })).toEqual({
        ok: false,
        reason: 'not_admin',
      });
      expect(await activeAdmins()).toEqual(['UADMIN']);
    });
  });

  describe('list', () => {
    const names = ['zoe', 'Ann', 'bob', 'Carl', 'dora', 'Eve', 'finn'];
    beforeEach(async () => {
      await insertMembers(
        db.knex,
        account,
        names.map((n, i) => ({ slackUserId: `U${i}${n.toUpperCase()}`, displayName: n })),
      );
      await insertMembers(db.knex, account, [{ slackUserId: 'UNONAME' }]);
      await removeMember(services, admin(), { user: 'U6FINN' });
    });

    it('pages active members by name, stable, with the total', async () => {
      const first = await listMembers(services, admin(), { limit: 3 });
      if (!first.ok) throw new Error(first.reason);
      expect(first.total).toBe(8); // Ada, 6 named, one without a name; Finn removed
      expect(first.page).toBe(1);
      expect(first.members.map((m) => m.displayName)).toEqual(['Ada', 'Ann', 'bob']);
      expect(first.previous).toBeNull();
      const second = await listMembers(services, admin(), { limit: 3, after: first.next as string });
      if (!second.ok) throw new Error(second.reason);
      expect(second.members.map((m) => m.displayName)).toEqual(['Carl', 'dora', 'Eve']);
      const third = await listMembers(services, admin(), { limit: 3, after: second.next as string });
      if (!third.ok) throw new Error(third.reason);
      expect(third.members.map((m) => m.slackUserId)).toEqual(['UNONAME', 'U0ZOE']);
      expect(third.next).toBeNull();
      const back = await listMembers(services, admin(), { limit: 3, before: third.previous as string });
      expect(back.ok && back.members.map((m) => m.displayName)).toEqual(['Carl', 'dora', 'Eve']);
      const backToStart = await listMembers(services, admin(), { limit: 3, before: second.previous as string });
      expect(backToStart.ok && backToStart.members.map((m) => m.displayName)).toEqual(['Ada', 'Ann', 'bob']);
      expect(backToStart.ok && backToStart.previous).toBeNull();
    });

    it('gives pages by number, clamped to the last page', async () => {
      const page3 = await listMembers(services, admin(), { limit: 3, page: 3 });
      expect(page3.ok && page3.members.map((m) => m.slackUserId)).toEqual(['UNONAME', 'U0ZOE']);
      expect(page3.ok && [page3.page, page3.next]).toEqual([3, null]);
      const beyond = await listMembers(services, admin(), { limit: 3, page: 99 });
      expect(beyond.ok && beyond.page).toBe(3);
      const zero = await listMembers(services, admin(), { limit: 3, page: 0 });
      expect(zero.ok && zero.page).toBe(1);
    });

    it('keeps its place when members join before the cursor', async () => {
      const first = await listMembers(services, admin(), { limit: 3 });
      if (!first.ok) throw new Error(first.reason);
      await insertMembers(db.knex, account, [{ slackUserId: 'UAAA', displayName: 'Aaron' }]);
      const second = await listMembers(services, admin(), { limit: 3, after: first.next as string });
      expect(second.ok && second.members.map((m) => m.displayName)).toEqual(['Carl', 'dora', 'Eve']);
    });

    it('never strands the console on an empty page when the members after the cursor leave', async () => {
      const first = await listMembers(services, admin(), { limit: 7 });
      if (!first.ok) throw new Error(first.reason);
      // The second page holds only Zoe; she leaves.
      await removeMember(services, admin(), { user: 'U0ZOE' });
      const after = await listMembers(services, admin(), { limit: 7, after: first.next as string });
      if (!after.ok) throw new Error(after.reason);
      expect(after.members.map((m) => m.displayName ?? m.slackUserId)).toEqual([
        'Ada',
        'Ann',
        'bob',
        'Carl',
        'dora',
        'Eve',
        'UNONAME',
      ]);
      expect(after.total).toBe(7);
      expect([after.previous, after.next]).toEqual([null, null]);
    });

    it('treats a damaged cursor as the first page and refuses non-admins', async () => {
      const damaged = await listMembers(services, admin(), { limit: 3, after: 'garbage!' });
      expect(damaged.ok && damaged.members.map((m) => m.displayName)).toEqual(['Ada', 'Ann', 'bob']);
      expect(await listMembers(services, actor(account, 'U1ANN'), { limit: 3 })).toEqual({
        ok: false,
        reason: 'not_admin',
      });
    });
  });
});
