import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Services } from '../../src/services/index.js';
import { changeRole } from '../../src/services/operations/change-role.js';
import { listInvites } from '../../src/services/operations/list-invites.js';
import { readAudit } from '../../src/services/operations/read-audit.js';
import { register } from '../../src/services/operations/register.js';
import { removeMember } from '../../src/services/operations/remove-member.js';
import { revokeInvite } from '../../src/services/operations/revoke-invite.js';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import {
  actor,
  makeLinks,
  makeServices,
  newAccount,
  PUBLIC_URL,
  SEVEN_DAYS,
  snapshot,
  TestClock,
} from '../support/fixtures.js';

describe.each(backends)('invites on $name', (backend) => {
  let db: TestDatabase;
  let clock: TestClock;
  let services: Services;
  let account: Account;
  const admin = () => actor(account, 'UADMIN');

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  beforeEach(async () => {
    clock = new TestClock();
    services = makeServices(db.knex, clock);
    account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADMIN', displayName: 'Ada' }]);
  });

  describe('create', () => {
    it('makes a single-use AccountUser link bound to one person, expiring after the configured lifetime', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      expect(created.invite).toMatchObject({
        forSlackUserId: 'UBOB',
        role: 'AccountUser',
        maxUses: 1,
        uses: 0,
        createdBy: 'UADMIN',
        revokedAt: null,
      });
      expect(created.invite.expiresAt.getTime() - clock.now().getTime()).toBe(SEVEN_DAYS * 1000);
      expect(created.url).toBe(`${PUBLIC_URL}/register/${created.token}`);
      expect(created.replaced).toBeNull();
    });

    it('uses the lifetime it is given', async () => {
      const custom = makeServices(db.knex, clock, 45);
      const created = await custom.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      expect(created.invite.expiresAt.getTime() - clock.now().getTime()).toBe(45_000);
    });

    it('makes a multi-use link for anyone when no one is named', async () => {
      const created = await services.invites.create(admin());
      if (!created.ok) throw new Error(created.reason);
      expect(created.invite.forSlackUserId).toBeNull();
      expect(created.invite.maxUses).toBeNull();
      const capped = await services.invites.create(admin(), { maxUses: 5 });
      expect(capped.ok && capped.invite.maxUses).toBe(5);
    });

    it('never stores the raw token', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const stored = JSON.stringify(await snapshot(db.knex, account.id));
      expect(stored).toContain(created.invite.id);
      expect(stored).not.toContain(created.token);
      expect(stored).not.toContain(created.token.split('.')[2]);
    });

    it('replaces the pending invite of the same person: the old link stops working', async () => {
      const first = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      const second = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!first.ok || !second.ok) throw new Error('not created');
      expect(second.replaced).toBe(first.invite.id);
      expect(await register(services, first.token)).toMatchObject({ ok: false, reason: 'invite_replaced' });
      const pending = await listInvites(services, admin());
      expect(pending.ok && pending.invites.map((i) => i.id)).toEqual([second.invite.id]);
      const accepted = await register(services, second.token);
      expect(accepted.ok).toBe(true);
    });

    it('replaces an expired invite of the same person too', async () => {
      const first = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      clock.advance(SEVEN_DAYS + 1);
      const second = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      expect(second.ok && second.replaced).toBe(first.ok && first.invite.id);
    });

    it('refuses to invite an active member and changes nothing', async () => {
      const before = await snapshot(db.knex, account.id);
      expect(await services.invites.create(admin(), { forSlackUserId: 'UADMIN' })).toEqual({
        ok: false,
        reason: 'already_member',
      });
      expect(await snapshot(db.knex, account.id)).toEqual(before);
    });

    it('refuses AccountUsers, non-members and removed admins, and changes nothing', async () => {
      const bob = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!bob.ok) throw new Error(bob.reason);
      await register(services, bob.token);
      await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' });
      await changeRole(services, admin(), { user: 'UBOB', role: 'AccountUser' });
      await changeRole(services, admin(), { user: 'UADMIN', role: 'AccountAdmin' });
      const before = await snapshot(db.knex, account.id);
      expect(await services.invites.create(actor(account, 'UBOB'), { forSlackUserId: 'UCAROL' })).toEqual({
        ok: false,
        reason: 'not_admin',
      });
      expect(await services.invites.create(actor(account, 'UNOBODY'), { forSlackUserId: 'UCAROL' })).toEqual({
        ok: false,
        reason: 'not_member',
      });
      expect(await snapshot(db.knex, account.id)).toEqual(before);

      await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' });
      await removeMember(services, actor(account, 'UBOB'), { user: 'UADMIN' });
      expect(await services.invites.create(admin(), { forSlackUserId: 'UCAROL' })).toEqual({
        ok: false,
        reason: 'not_member',
      });
    });

    it('writes the audit entry in the same transaction', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const entries = await readAudit(services, admin(), { limit: 1 });
      expect(entries.ok && entries.entries[0]).toMatchObject({
        actor: 'UADMIN',
        action: 'invite.created',
        targetSlackUserId: 'UBOB',
        targetInviteId: created.invite.id,
        source: 'slash_command',
      });
    });
  });

  describe('accept', () => {
    it('registers exactly the invited person as AccountUser and uses the invite up', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const accepted = await register(services, created.token, {
        profile: { displayName: 'Bob', email: 'bob@example.com' },
      });
      if (!accepted.ok) throw new Error(accepted.reason);
      expect(accepted.alreadyMember).toBe(false);
      expect(accepted.member).toMatchObject({
        slackUserId: 'UBOB',
        role: 'AccountUser',
        status: 'active',
        displayName: 'Bob',
        email: 'bob@example.com',
        invitedBy: 'UADMIN',
        inviteId: created.invite.id,
      });
      expect(accepted.invite.uses).toBe(1);
      expect(accepted.account.id).toBe(account.id);
      const audit = await readAudit(services, admin(), { limit: 1 });
      expect(audit.ok && audit.entries[0]).toMatchObject({
        actor: 'UBOB',
        action: 'member.registered',
        targetSlackUserId: 'UBOB',
        targetInviteId: created.invite.id,
        source: 'registration_page',
      });
      expect(await register(services, created.token)).toMatchObject({ ok: false, reason: 'invite_used' });
    });

    it('refuses a link once it has expired, and changes nothing', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      clock.advance(SEVEN_DAYS - 1);
      const inspected = await services.invites.inspect(created.token);
      expect(inspected.ok).toBe(true);
      clock.advance(1);
      const before = await snapshot(db.knex, account.id);
      expect(await register(services, created.token)).toMatchObject({ ok: false, reason: 'invite_expired' });
      const late = await services.invites.inspect(created.token);
      expect(late).toMatchObject({ ok: false, reason: 'invite_expired', details: { invite: { createdBy: 'UADMIN' } } });
      expect(await snapshot(db.knex, account.id)).toEqual(before);
    });

    it('reads the invites asked for at once with one statement, each with its own answer', async () => {
      const made = await Promise.all(
        ['UBOB', 'UCAT', 'UDAN'].map((u) => services.invites.create(admin(), { forSlackUserId: u })),
      );
      const ids = made.map((m) => (m.ok ? m.invite.id : ''));
      expect((await revokeInvite(services, admin(), { inviteId: ids[1] as string })).ok).toBe(true);
      const client = db.knex.client as { acquireConnection: () => Promise<unknown> };
      const acquired = vi.spyOn(client, 'acquireConnection');
      try {
        // By id, as the Accept button asks (a link's signature is checked first, off the event
        // loop's thread, so links opened together may reach the read a turn apart).
        const seen = await Promise.all([...ids, 'nosuchinvite'].map((id) => services.invites.inspectById(id)));
        expect(acquired).toHaveBeenCalledTimes(1);
        expect(seen.map((s) => (s.ok ? s.invite.forSlackUserId : s.reason))).toEqual([
          'UBOB',
          'invite_revoked',
          'UDAN',
          'invite_unknown',
        ]);
      } finally {
        acquired.mockRestore();
      }
    });

    it("checks a link's signature once however often it is opened, its expiry each time", async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const links = makeLinks(clock);
      const verify = vi.spyOn(webcrypto.subtle, 'verify');
      try {
        expect(await links.verify(created.token)).toEqual({ ok: true, inviteId: created.invite.id, expired: false });
        expect(await links.verify(created.token)).toEqual({ ok: true, inviteId: created.invite.id, expired: false });
        expect(verify).toHaveBeenCalledTimes(1);
        clock.advance(SEVEN_DAYS);
        expect(await links.verify(created.token)).toEqual({ ok: true, inviteId: created.invite.id, expired: true });
        // A forged one is checked, and refused, each time.
        const forged = `${created.token.slice(0, -4)}AAAA`;
        expect(await links.verify(forged)).toEqual({ ok: false, reason: 'invalid' });
        expect(await links.verify(forged)).toEqual({ ok: false, reason: 'invalid' });
        expect(verify).toHaveBeenCalledTimes(3);
      } finally {
        verify.mockRestore();
      }
    });

    it('refuses links signed with a key WebCrypto cannot use, without an unhandled rejection', async () => {
      const empty = new RegistrationLinks({ publicUrl: PUBLIC_URL, secret: '', now: clock.now });
      await new Promise((resolve) => setImmediate(resolve));
      await expect(empty.sign({ id: 'abcdef', expiresAt: new Date(clock.now().getTime() + 60_000) })).rejects.toThrow();
      expect(await empty.verify('a.b.c')).toEqual({ ok: false, reason: 'invalid' });
    });

    it('refuses a revoked link, and changes nothing', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const revoked = await revokeInvite(services, admin(), { inviteId: created.invite.id });
      expect(revoked.ok).toBe(true);
      const before = await snapshot(db.knex, account.id);
      expect(await register(services, created.token)).toMatchObject({ ok: false, reason: 'invite_revoked' });
      expect(await snapshot(db.knex, account.id)).toEqual(before);
    });

    it('refuses tampered, foreign-key and unknown tokens as unknown', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const [h, p, s] = created.token.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
      const otherKey = new RegistrationLinks({
        publicUrl: PUBLIC_URL,
        secret: 'another-secret-another-secret-another',
        now: clock.now,
      });
      const foreign = await otherKey.sign(created.invite);
      const ghost = await new RegistrationLinks({
        publicUrl: PUBLIC_URL,
        secret: 'test-registration-link-secret-0123456789abcdef',
        now: clock.now,
      }).sign({
        id: 'nosuchinvite',
        expiresAt: created.invite.expiresAt,
      });
      const before = await snapshot(db.knex, account.id);
      for (const token of [flipped, foreign, ghost, 'not-a-token', '', 'a'.repeat(5000)]) {
        expect(await register(services, token)).toMatchObject({ ok: false, reason: 'invite_unknown' });
        expect(await services.invites.inspect(token)).toEqual({ ok: false, reason: 'invite_unknown' });
      }
      expect(await snapshot(db.knex, account.id)).toEqual(before);
    });

    it('registers a bound invite only for its own person', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const teamId = account.slackTeamId as string;
      expect(await register(services, created.token, { identity: { slackUserId: 'UEVE', teamId } })).toMatchObject({
        ok: false,
        reason: 'wrong_person',
      });
      const ok = await register(services, created.token, { identity: { slackUserId: 'UBOB', teamId } });
      expect(ok.ok && ok.member.slackUserId).toBe('UBOB');
    });

    it('needs a verified identity of the same team for a link made for anyone', async () => {
      const created = await services.invites.create(admin(), { maxUses: 2 });
      if (!created.ok) throw new Error(created.reason);
      const teamId = account.slackTeamId as string;
      expect(await register(services, created.token)).toMatchObject({ ok: false, reason: 'identity_required' });
      expect(
        await register(services, created.token, { identity: { slackUserId: 'UEVE', teamId: 'TOTHER' } }),
      ).toMatchObject({ ok: false, reason: 'wrong_account' });
      // Another workspace of the account's Enterprise Grid org: invited by name only, not by a
      // link for anyone.
      await db.knex('accounts').where({ id: account.id }).update({ slack_enterprise_id: 'E0ORG' });
      const sister = { slackUserId: 'UEVE', teamId: 'TSISTER', enterpriseId: 'E0ORG' };
      expect(await register(services, created.token, { identity: sister })).toMatchObject({
        ok: false,
        reason: 'wrong_account',
      });
      const a = await register(services, created.token, { identity: { slackUserId: 'UC1', teamId } });
      const b = await register(services, created.token, { identity: { slackUserId: 'UC2', teamId } });
      expect(a.ok && b.ok).toBe(true);
      expect(await register(services, created.token, { identity: { slackUserId: 'UC3', teamId } })).toMatchObject({
        ok: false,
        reason: 'invite_used',
      });
    });

    it('leaves an active member as they are and does not use the invite up', async () => {
      const created = await services.invites.create(admin(), { maxUses: 1 });
      if (!created.ok) throw new Error(created.reason);
      const accepted = await register(services, created.token, {
        identity: { slackUserId: 'UADMIN', teamId: account.slackTeamId as string },
      });
      if (!accepted.ok) throw new Error(accepted.reason);
      expect(accepted.alreadyMember).toBe(true);
      expect(accepted.member.role).toBe('AccountAdmin');
      const row = await db.knex('invites').where({ id: created.invite.id }).first();
      expect(row.uses).toBe(0);
    });

    it('lets a removed member register again as AccountUser', async () => {
      const first = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!first.ok) throw new Error(first.reason);
      await register(services, first.token);
      await changeRole(services, admin(), { user: 'UBOB', role: 'AccountAdmin' });
      await removeMember(services, admin(), { user: 'UBOB' });
      const again = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!again.ok) throw new Error(again.reason);
      const accepted = await register(services, again.token);
      expect(accepted.ok && accepted.member).toMatchObject({
        status: 'active',
        role: 'AccountUser',
        removedAt: null,
        removedBy: null,
      });
    });

    it('stops the links of a removed inviter', async () => {
      const carol = await services.invites.create(admin(), { forSlackUserId: 'UCAROL' });
      if (!carol.ok) throw new Error(carol.reason);
      await register(services, carol.token);
      await changeRole(services, admin(), { user: 'UCAROL', role: 'AccountAdmin' });
      const fromCarol = await services.invites.create(actor(account, 'UCAROL'), { forSlackUserId: 'UDAN' });
      const usedFromCarol = await services.invites.create(actor(account, 'UCAROL'), { forSlackUserId: 'UERIN' });
      if (!fromCarol.ok || !usedFromCarol.ok) throw new Error('not created');
      await register(services, usedFromCarol.token);
      const removed = await removeMember(services, admin(), { user: 'UCAROL' });
      // Only the link that could still be used is revoked; the used one keeps its story.
      expect(removed.ok && removed.revokedInvites).toBe(1);
      expect(await register(services, fromCarol.token)).toMatchObject({
        ok: false,
        reason: 'inviter_cannot_invite',
      });
      expect(await register(services, usedFromCarol.token)).toMatchObject({ ok: false, reason: 'invite_used' });
    });

    it('lets exactly one of several simultaneous accepts use a single-use invite', async () => {
      const created = await services.invites.create(admin(), { maxUses: 1 });
      if (!created.ok) throw new Error(created.reason);
      const teamId = account.slackTeamId as string;
      const results = await Promise.all(
        ['UR1', 'UR2', 'UR3'].map((id) => register(services, created.token, { identity: { slackUserId: id, teamId } })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(['invite_used', 'invite_used']);
      const registered = await db
        .knex('members')
        .where({ account_id: account.id })
        .whereIn('slack_user_id', ['UR1', 'UR2', 'UR3']);
      expect(registered).toHaveLength(1);
    });
  });

  describe('pending and revoke', () => {
    it('lists only invites that can still be used, soonest to expire first', async () => {
      const a = await services.invites.create(admin(), { forSlackUserId: 'UA' });
      clock.advance(60);
      const b = await services.invites.create(admin(), { forSlackUserId: 'UB' });
      const c = await services.invites.create(admin(), { forSlackUserId: 'UC' });
      const d = await services.invites.create(admin(), { forSlackUserId: 'UD' });
      if (!a.ok || !b.ok || !c.ok || !d.ok) throw new Error('not created');
      await revokeInvite(services, admin(), { inviteId: c.invite.id });
      await register(services, d.token);
      const pending = await listInvites(services, admin());
      expect(pending.ok && pending.invites.map((i) => i.id)).toEqual([a.invite.id, b.invite.id]);
      clock.advance(SEVEN_DAYS - 30);
      const later = await listInvites(services, admin());
      expect(later.ok && later.invites.map((i) => i.id)).toEqual([b.invite.id]);
      expect(await listInvites(services, actor(account, 'UB'))).toEqual({ ok: false, reason: 'not_member' });
    });

    it('revokes at once, records who did it, and refuses a second revoke or an unknown id', async () => {
      const created = await services.invites.create(admin(), { forSlackUserId: 'UBOB' });
      if (!created.ok) throw new Error(created.reason);
      const revoked = await revokeInvite(services, admin(), { inviteId: created.invite.id });
      expect(revoked.ok && revoked.invite).toMatchObject({ revokedBy: 'UADMIN', revokeReason: 'revoked' });
      expect(await revokeInvite(services, admin(), { inviteId: created.invite.id })).toEqual({
        ok: false,
        reason: 'invite_revoked',
      });
      expect(await revokeInvite(services, admin(), { inviteId: 'zzzzzzzzzz' })).toEqual({
        ok: false,
        reason: 'invite_unknown',
      });
      const audit = await readAudit(services, admin(), { limit: 1 });
      expect(audit.ok && audit.entries[0]).toMatchObject({
        action: 'invite.revoked',
        targetInviteId: created.invite.id,
      });
    });

    it("cannot see or revoke another account's invites", async () => {
      const other = await newAccount(services, 'Other');
      await services.members.bootstrapAdmins(other.id, [{ slackUserId: 'UOTHER' }]);
      const created = await services.invites.create(actor(other, 'UOTHER'), { forSlackUserId: 'UX' });
      if (!created.ok) throw new Error(created.reason);
      expect(await revokeInvite(services, admin(), { inviteId: created.invite.id })).toEqual({
        ok: false,
        reason: 'invite_unknown',
      });
      const pending = await listInvites(services, admin());
      expect(pending.ok && pending.invites).toEqual([]);
    });
  });
});
