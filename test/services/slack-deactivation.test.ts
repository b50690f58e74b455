// The last-admin rule counts only AccountAdmins who can act: one deactivated in Slack (kept
// because they were the last) does not count, and INITIAL_ADMINS applies while only such
// admins are left.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import { changeRole } from '../../src/services/operations/change-role.js';
import { removeMember } from '../../src/services/operations/remove-member.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount } from '../support/fixtures.js';

describe.each(backends)('Slack deactivations on $name', (backend) => {
  let db: TestDatabase;
  let services: Services;
  let account: Account;

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    services = makeServices(db.knex);
    account = await newAccount(services);
    await insertMembers(db.knex, account, [
      { slackUserId: 'UADA', role: 'AccountAdmin' },
      { slackUserId: 'UBEN', role: 'AccountAdmin' },
      { slackUserId: 'UCAT' },
    ]);
  });

  const status = async (user: string) =>
    db
      .knex('members')
      .where({ account_id: account.id, slack_user_id: user })
      .first('status', 'role', 'slack_deactivated_at');

  it('removes an admin while another can act, and keeps the last one, marked', async () => {
    expect(await services.members.deactivatedInSlack(account.id, 'UADA')).toEqual({
      outcome: 'removed',
      invitesEnded: 0,
    });
    expect(await services.members.deactivatedInSlack(account.id, 'UBEN')).toEqual({
      outcome: 'kept_last_admin',
      invitesEnded: 0,
    });
    expect(await services.members.deactivatedInSlack(account.id, 'UBEN')).toEqual({
      outcome: 'already_kept',
      invitesEnded: 0,
    });
    expect(await services.members.deactivatedInSlack(account.id, 'UADA')).toEqual({
      outcome: 'not_member',
      invitesEnded: 0,
    });
    expect(await status('UBEN')).toMatchObject({ status: 'active', role: 'AccountAdmin' });
    expect((await status('UBEN'))?.slack_deactivated_at).not.toBeNull();
  });

  it('does not count a kept, deactivated admin: the only admin who can act cannot step down', async () => {
    await db
      .knex('members')
      .where({ account_id: account.id, slack_user_id: 'UADA' })
      .update({ slack_deactivated_at: new Date() });
    const demoted = await changeRole(services, actor(account, 'UBEN'), { user: 'UBEN', role: 'AccountUser' });
    expect(demoted).toEqual({ ok: false, reason: 'last_admin' });
    const removed = await removeMember(services, actor(account, 'UBEN'), { user: 'UBEN' });
    expect(removed).toEqual({ ok: false, reason: 'last_admin' });
    // Removing the deactivated one is fine: UBEN still acts.
    const cleanUp = await removeMember(services, actor(account, 'UBEN'), { user: 'UADA' });
    expect(cleanUp.ok).toBe(true);
  });

  it('applies INITIAL_ADMINS while every admin is deactivated in Slack, and not otherwise', async () => {
    expect((await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UCAT' }])).promoted).toEqual([]);
    await services.members.deactivatedInSlack(account.id, 'UADA');
    await services.members.deactivatedInSlack(account.id, 'UBEN');
    expect((await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UCAT' }])).promoted).toEqual(['UCAT']);
    expect(await status('UCAT')).toMatchObject({ status: 'active', role: 'AccountAdmin' });
  });

  it('registers nobody on reactivation, and unmarks a kept admin', async () => {
    await services.members.deactivatedInSlack(account.id, 'UCAT');
    expect(await services.members.reactivatedInSlack(account.id, 'UCAT')).toEqual({ unmarked: false });
    expect((await status('UCAT'))?.status).toBe('removed');
    await services.members.deactivatedInSlack(account.id, 'UADA');
    await services.members.deactivatedInSlack(account.id, 'UBEN');
    expect(await services.members.reactivatedInSlack(account.id, 'UBEN')).toEqual({ unmarked: true });
    expect((await status('UBEN'))?.slack_deactivated_at).toBeNull();
  });

  it('removes a kept admin once another admin can act, and a demoted one is no longer marked', async () => {
    await services.members.deactivatedInSlack(account.id, 'UADA');
    expect(await services.members.deactivatedInSlack(account.id, 'UBEN')).toEqual({
      outcome: 'kept_last_admin',
      invitesEnded: 0,
    });
    // INITIAL_ADMINS names UCAT; Slack delivers UBEN's deactivation again: now UBEN goes.
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UCAT' }]);
    expect(await services.members.deactivatedInSlack(account.id, 'UBEN')).toEqual({
      outcome: 'removed',
      invitesEnded: 0,
    });
    expect((await status('UBEN'))?.status).toBe('removed');
    expect((await status('UBEN'))?.slack_deactivated_at).toBeNull();

    await insertMembers(db.knex, account, [{ slackUserId: 'UDAN', role: 'AccountAdmin' }]);
    await db
      .knex('members')
      .where({ account_id: account.id, slack_user_id: 'UDAN' })
      .update({ slack_deactivated_at: new Date() });
    const demoted = await changeRole(services, actor(account, 'UCAT'), { user: 'UDAN', role: 'AccountUser' });
    expect(demoted.ok).toBe(true);
    expect(await status('UDAN')).toMatchObject({ role: 'AccountUser', slack_deactivated_at: null });
  });

  it('never leaves the account without an admin when Slack deactivates two admins at once', async () => {
    for (let round = 0; round < 20; round++) {
      await db.knex('members').where({ account_id: account.id }).whereIn('slack_user_id', ['UADA', 'UBEN']).update({
        status: 'active',
        role: 'AccountAdmin',
        slack_deactivated_at: null,
        removed_at: null,
        removed_by: null,
      });
      const outcomes = await Promise.all([
        services.members.deactivatedInSlack(account.id, 'UADA'),
        services.members.deactivatedInSlack(account.id, 'UBEN'),
      ]);
      expect(outcomes.map((o) => o.outcome).sort()).toEqual(['kept_last_admin', 'removed']);
      const admins = await db.knex('members').where({ account_id: account.id, status: 'active', role: 'AccountAdmin' });
      expect(admins).toHaveLength(1);
    }
  });
});
