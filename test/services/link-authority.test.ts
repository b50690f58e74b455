// The authority a registration link carries, as the domain rules it, with Slack replaced by a
// fake directory: checked at use (the maker can still act as an AccountAdmin; the app is
// installed, in multi-workspace mode; the person is an active, non-bot person of the workspace,
// a guest only by a personal invite), and ended by removal, deactivation and demotion.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import { changeRole } from '../../src/services/operations/change-role.js';
import { listInvites } from '../../src/services/operations/list-invites.js';
import { identify, register } from '../../src/services/operations/register.js';
import { removeMember } from '../../src/services/operations/remove-member.js';
import { shareLink } from '../../src/services/operations/share-link.js';
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

describe.each(backends)('link authority on $name', (backend) => {
  let db: TestDatabase;
  let clock: TestClock;
  let slack: FakeDirectory;
  let services: Services;
  let account: Account;
  const admin = (id = 'UADA') => actor(account, id);

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    clock = new TestClock();
    slack = new FakeDirectory();
    services = makeServices(db.knex, clock, SEVEN_DAYS, slack);
    account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADA' }, { slackUserId: 'UBEN' }]);
  });

  async function personal(forSlackUserId: string, by = 'UADA') {
    const created = await services.invites.create(admin(by), { forSlackUserId });
    if (!created.ok) throw new Error(created.reason);
    return created;
  }
  async function shared(by = 'UADA') {
    const created = await services.invites.create(admin(by), { forSlackUserId: null });
    if (!created.ok) throw new Error(created.reason);
    return created;
  }
  const identity = (slackUserId: string, teamId = account.slackTeamId as string) => ({ slackUserId, teamId });

  it("refuses a link whose maker can no longer act, and takes it up again when they can (Slack's deactivation mark)", async () => {
    const link = await personal('UBOB', 'UBEN');
    await db.knex('members').where({ account_id: account.id, slack_user_id: 'UBEN' }).update({
      slack_deactivated_at: clock.now(),
    });
    const before = await snapshot(db.knex, account.id);
    expect(await services.invites.inspect(link.token)).toMatchObject({ ok: false, reason: 'inviter_cannot_invite' });
    expect(await register(services, link.token)).toMatchObject({ ok: false, reason: 'inviter_cannot_invite' });
    expect(await snapshot(db.knex, account.id)).toEqual(before);
    await services.members.reactivatedInSlack(account.id, 'UBEN');
    expect(await register(services, link.token)).toMatchObject({ ok: true, alreadyMember: false });
  });

  it("a demotion ends the links the admin made, for good, audited with the change; other admins' links stay", async () => {
    const bob = await personal('UBOB', 'UBEN');
    const anyone = await shared('UBEN');
    const mine = await personal('UCAROL', 'UADA');
    const demoted = await changeRole(services, admin(), { user: 'UBEN', role: 'AccountUser' });
    expect(demoted).toMatchObject({ ok: true, changed: true, revokedInvites: 2 });
    const entry = await db.knex('audit_log').where({ action: 'member.role_changed' }).first();
    expect([...entry.after.revokedInvites].sort()).toEqual([bob.invite.id, anyone.invite.id].sort());
    const ended = await db.knex('invites').whereIn('id', [bob.invite.id, anyone.invite.id]);
    expect(ended.map((i) => i.revoke_reason)).toEqual(['inviter_demoted', 'inviter_demoted']);

    await changeRole(services, admin(), { user: 'UBEN', role: 'AccountAdmin' });
    expect(await register(services, bob.token)).toMatchObject({ ok: false, reason: 'inviter_cannot_invite' });
    expect(await register(services, anyone.token, { identity: identity('UDAN') })).toMatchObject({
      ok: false,
      reason: 'inviter_cannot_invite',
    });
    expect(await register(services, mine.token)).toMatchObject({ ok: true });
    // A promotion ends nothing.
    expect(await changeRole(services, admin(), { user: 'UCAROL', role: 'AccountAdmin' })).toMatchObject({
      revokedInvites: 0,
    });
  });

  it('a removal ends the invite still addressed to the person, as well as the links they made', async () => {
    const forBob = await personal('UBOB');
    await db.knex('members').insert({
      account_id: account.id,
      slack_user_id: 'UBOB',
      sort_name: 'ubob',
      role: 'AccountUser',
      status: 'active',
    });
    const removed = await removeMember(services, admin(), { user: 'UBOB' });
    expect(removed).toMatchObject({ ok: true, revokedInvites: 0, invitesForThem: 1 });
    expect(await register(services, forBob.token)).toMatchObject({ ok: false, reason: 'invite_revoked' });
    expect(await listInvites(services, admin())).toEqual({ ok: true, invites: [], page: 1, next: false });
  });

  it('a Slack deactivation ends the invites addressed to a person who is not a member, audited with Slack as the actor', async () => {
    const forBob = await personal('UBOB');
    expect(await services.members.deactivatedInSlack(account.id, 'UBOB')).toEqual({
      outcome: 'not_member',
      invitesEnded: 1,
    });
    expect(await register(services, forBob.token)).toMatchObject({ ok: false, reason: 'not_in_workspace' });
    const audit = await db.knex('audit_log').where({ action: 'invite.revoked', target_invite_id: forBob.invite.id });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'Slack', source: 'slack_event' });
    // Again (Slack delivers twice): nothing more.
    expect(await services.members.deactivatedInSlack(account.id, 'UBOB')).toEqual({
      outcome: 'not_member',
      invitesEnded: 0,
    });
  });

  it('asks Slack at use: deactivated, bot, unknown or of another workspace is refused; nothing changes', async () => {
    const link = await personal('UBOB');
    const before = await snapshot(db.knex, account.id);
    for (const [said, reason] of [
      [{ deleted: true }, 'not_in_workspace'],
      [{ bot: true }, 'not_in_workspace'],
      [{ teamId: 'TOTHER', enterpriseId: null }, 'not_in_workspace'],
      ['unknown', 'not_in_workspace'],
      ['unavailable', 'slack_unavailable'],
    ] as const) {
      slack.users.set('UBOB', said);
      expect(await register(services, link.token), JSON.stringify(said)).toMatchObject({ ok: false, reason });
    }
    expect(await snapshot(db.knex, account.id)).toEqual(before);
    expect(slack.asked.filter((id) => id === 'UBOB')).toHaveLength(5);
    // Someone of another workspace of the same Enterprise Grid org is a person of it.
    await db.knex('accounts').where({ id: account.id }).update({ slack_enterprise_id: 'E0ORG' });
    slack.users.set('UBOB', { teamId: 'TSISTER', enterpriseId: 'E0ORG' });
    expect(await register(services, link.token)).toMatchObject({ ok: true });
  });

  it('a link for anyone does not register someone Slack deactivated while it was asking about them', async () => {
    const anyone = await shared();
    // Slack answers "active", but the deactivation event is handled before the registration commits.
    const lookup = slack.lookup.bind(slack);
    slack.lookup = async (acc, id) => {
      const answer = await lookup(acc, id);
      expect(await services.members.deactivatedInSlack(account.id, id)).toMatchObject({ outcome: 'not_member' });
      return answer;
    };
    expect(await register(services, anyone.token, { identity: identity('UDAN') })).toMatchObject({
      ok: false,
      reason: 'not_in_workspace',
    });
    expect(await db.knex('members').where({ account_id: account.id, slack_user_id: 'UDAN' })).toEqual([]);
    expect((await db.knex('invites').where({ id: anyone.invite.id }).first()).uses).toBe(0);
    // Reactivated in Slack, they may join.
    slack.lookup = lookup;
    await services.members.reactivatedInSlack(account.id, 'UDAN');
    expect(await register(services, anyone.token, { identity: identity('UDAN') })).toMatchObject({ ok: true });
  });

  it('guests: welcome by a personal invite, refused by a link for anyone (audited)', async () => {
    slack.users.set('UGUEST', { guest: true, displayName: 'Guest' });
    const anyone = await shared();
    expect(await register(services, anyone.token, { identity: identity('UGUEST') })).toMatchObject({
      ok: false,
      reason: 'guest_needs_personal_invite',
    });
    const refusal = await db.knex('audit_log').where({ action: 'access.refused', actor: 'UGUEST' });
    expect(refusal.map((r) => r.after)).toEqual([{ operation: 'register', reason: 'guest_needs_personal_invite' }]);
    expect((await db.knex('invites').where({ id: anyone.invite.id }).first()).uses).toBe(0);

    const byName = await personal('UGUEST');
    const joined = await register(services, byName.token);
    expect(joined.ok && joined.member).toMatchObject({ role: 'AccountUser', displayName: 'Guest' });
  });

  it('a personal invite with an identity registers only its person; another is refused and audited', async () => {
    const link = await personal('UBOB');
    expect(await identify(services, link.token, identity('UEVE'))).toMatchObject({
      ok: false,
      reason: 'wrong_person',
    });
    expect(await register(services, link.token, { identity: identity('UEVE') })).toMatchObject({
      ok: false,
      reason: 'wrong_person',
    });
    // Recorded once a minute per person, however often they try.
    const attempts = await db.knex('audit_log').where({ action: 'access.refused', actor: 'UEVE' });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ source: 'registration_page' });
    expect(await identify(services, link.token, identity('UBOB'))).toMatchObject({
      ok: true,
      slackUserId: 'UBOB',
    });
    expect(await register(services, link.token, { identity: identity('UBOB') })).toMatchObject({ ok: true });
  });

  it('makes no link for anyone without Sign in with Slack: nobody could use it', async () => {
    const without = makeServices(db.knex, clock, SEVEN_DAYS, slack, { sharedLinks: false });
    const before = await snapshot(db.knex, account.id);
    expect(await shareLink(without, admin(), {})).toEqual({
      ok: false,
      reason: 'identity_required',
    });
    expect(await snapshot(db.knex, account.id)).toEqual(before);
    expect((await without.invites.create(admin(), { forSlackUserId: 'UBOB' })).ok).toBe(true);
  });

  it('multi-workspace mode: a link works only while the app is installed in its workspace', async () => {
    const multi = makeServices(db.knex, clock, SEVEN_DAYS, slack, {
      tokenEncryptionKey: 'token-encryption-key-for-tests-0123456789',
      multiWorkspace: true,
    });
    const link = await personal('UBOB');
    const key = { teamId: account.slackTeamId, isEnterpriseInstall: false };
    expect(await register(multi, link.token)).toMatchObject({ ok: false, reason: 'app_not_installed' });
    await multi.installations?.vault.save(key, { bot: { token: 'xoxb-x' } });
    expect(await multi.invites.inspect(link.token)).toMatchObject({ ok: true });
    await multi.installations?.uninstalled(key, 'app_uninstalled');
    expect(await multi.invites.inspect(link.token)).toMatchObject({ ok: false, reason: 'app_not_installed' });
    await multi.installations?.vault.save(key, { bot: { token: 'xoxb-y' } });
    expect(await register(multi, link.token)).toMatchObject({ ok: true, alreadyMember: false });
  });

  it('never registers through a link after its maker was marked deactivated in Slack at the same moment (20 rounds)', async () => {
    // UBEN is the only admin who can act, so Slack's deactivation keeps and marks them (their
    // links are not revoked: only the check at use stops them).
    await removeMember(services, admin('UBEN'), { user: 'UADA' });
    for (let round = 0; round < 20; round++) {
      await services.members.reactivatedInSlack(account.id, 'UBEN');
      const link = await shared('UBEN');
      const who = `UR${round}`;
      const [accepted, marked] = await Promise.all([
        register(services, link.token, { identity: identity(who) }),
        services.members.deactivatedInSlack(account.id, 'UBEN'),
      ]);
      expect(marked.outcome).toBe('kept_last_admin');
      const registered = await db.knex('audit_log').where({ action: 'member.registered', actor: who }).first();
      const kept = await db
        .knex('audit_log')
        .where({ action: 'member.kept_deactivated', target_slack_user_id: 'UBEN' })
        .orderBy('id', 'desc')
        .first();
      // Registered before the mark, or refused: never after it.
      if (accepted.ok) expect(registered.id).toBeLessThan(kept.id);
      else expect(accepted).toMatchObject({ ok: false, reason: 'inviter_cannot_invite' });
    }
  });
});
