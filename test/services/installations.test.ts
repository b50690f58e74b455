// The Slack installations of the multi-workspace mode, stored encrypted: readable only with the
// key, bound to their workspace, replaced on a re-install, gone on uninstall.
import type { Installation } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ensureAccount } from '../../src/services/accounts.js';
import { InstallationService, InstallationUnreadable, InstallationVault } from '../../src/services/installations.js';
import { authorizationFailure, installationStore, NotInstalled } from '../../src/slack/installation-store.js';
import { backends, type TestDatabase } from '../support/databases.js';

const KEY = 'installation-encryption-key-0123456789abcdef';
const BOT_TOKEN = 'xoxb-9999-8888-installedbottoken';

function installation(team: string, token = BOT_TOKEN): Installation<'v2', false> {
  return {
    team: { id: team, name: `Team ${team}` },
    enterprise: undefined,
    user: { id: 'UINSTALLER', token: undefined, scopes: undefined },
    bot: { token, scopes: ['commands', 'chat:write'], id: 'B01', userId: 'UBOT' },
    tokenType: 'bot',
    isEnterpriseInstall: false,
    appId: 'A0APP',
    authVersion: 'v2',
  };
}

describe.each(backends)('installations on $name', (backend) => {
  let db: TestDatabase;
  let vault: InstallationVault;

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    await db.knex('installations').del();
    vault = new InstallationVault({ knex: db.knex, encryptionKey: KEY });
  });

  it('stores an installation that only the key reads back, per workspace', async () => {
    const store = installationStore(vault);
    await store.storeInstallation(installation('T0ONE'));
    await store.storeInstallation(installation('T0TWO', 'xoxb-2222-other'));
    const query = { teamId: 'T0ONE', enterpriseId: undefined, isEnterpriseInstall: false as const };
    expect((await store.fetchInstallation(query)).bot?.token).toBe(BOT_TOKEN);
    expect(
      (await store.fetchInstallation({ teamId: 'T0TWO', enterpriseId: undefined, isEnterpriseInstall: false })).bot
        ?.token,
    ).toBe('xoxb-2222-other');

    const rows = await db.knex('installations').orderBy('install_key');
    expect(rows.map((r) => r.install_key)).toEqual(['T:T0ONE', 'T:T0TWO']);
    expect(JSON.stringify(rows)).not.toContain('xoxb-');

    const otherKey = new InstallationVault({ knex: db.knex, encryptionKey: `${KEY}-rotated` });
    await expect(otherKey.load({ teamId: 'T0ONE', isEnterpriseInstall: false })).rejects.toBeInstanceOf(
      InstallationUnreadable,
    );
  });

  it('refuses a row moved to another workspace', async () => {
    await vault.save({ teamId: 'T0ONE', isEnterpriseInstall: false }, installation('T0ONE'));
    await vault.save({ teamId: 'T0TWO', isEnterpriseInstall: false }, installation('T0TWO'));
    // Read (and kept decrypted) for its own workspace first: that must not open it for another.
    expect(await vault.load({ teamId: 'T0ONE', isEnterpriseInstall: false })).toBeDefined();
    const one = await db.knex('installations').where({ install_key: 'T:T0ONE' }).first();
    await db.knex('installations').where({ install_key: 'T:T0TWO' }).update({ sealed: one.sealed });
    await expect(vault.load({ teamId: 'T0TWO', isEnterpriseInstall: false })).rejects.toBeInstanceOf(
      InstallationUnreadable,
    );
  });

  it('reads what is stored on every load: uninstalls and new tokens at once, and a changed copy changes nothing', async () => {
    const key = { teamId: 'T0ONE', isEnterpriseInstall: false };
    await vault.save(key, installation('T0ONE'));
    const first = (await vault.load(key)) as { bot: { token: string } };
    expect(first.bot.token).toBe(BOT_TOKEN);
    first.bot.token = 'xoxb-changed-by-a-caller';
    expect(((await vault.load(key)) as { bot: { token: string } }).bot.token).toBe(BOT_TOKEN);
    await vault.save(key, installation('T0ONE', 'xoxb-3333-reinstalled'));
    expect(((await vault.load(key)) as { bot: { token: string } }).bot.token).toBe('xoxb-3333-reinstalled');
    await vault.remove(key);
    expect(await vault.load(key)).toBeUndefined();
  });

  it('replaces on a re-install, keys an org-wide install by its org, and forgets on uninstall', async () => {
    const store = installationStore(vault);
    await store.storeInstallation(installation('T0ONE'));
    await store.storeInstallation(installation('T0ONE', 'xoxb-3333-reinstalled'));
    const query = { teamId: 'T0ONE', enterpriseId: undefined, isEnterpriseInstall: false as const };
    expect((await store.fetchInstallation(query)).bot?.token).toBe('xoxb-3333-reinstalled');
    expect(await db.knex('installations')).toHaveLength(1);

    await vault.save({ enterpriseId: 'E0ORG', isEnterpriseInstall: true }, { bot: { token: 'xoxb-org' } });
    expect(await vault.load({ enterpriseId: 'E0ORG', teamId: 'T0ANY', isEnterpriseInstall: true })).toEqual({
      bot: { token: 'xoxb-org' },
    });

    await store.deleteInstallation?.(query);
    await expect(store.fetchInstallation(query)).rejects.toBeInstanceOf(NotInstalled);
    expect(await vault.load({ enterpriseId: 'E0ORG', isEnterpriseInstall: true })).toBeDefined();
  });

  it('reads the installations and askers of requests that come at once in one statement, each their own', async () => {
    await vault.save({ teamId: 'T0ONE', isEnterpriseInstall: false }, installation('T0ONE'));
    await vault.save({ teamId: 'T0TWO', isEnterpriseInstall: false }, installation('T0TWO', 'xoxb-2222-other'));
    await vault.save({ enterpriseId: 'E0ORG', isEnterpriseInstall: true }, { bot: { token: 'xoxb-org' } });
    await vault.save({ teamId: 'T0BAD', isEnterpriseInstall: false }, installation('T0BAD'));
    const one = await db.knex('installations').where({ install_key: 'T:T0ONE' }).first();
    await db.knex('installations').where({ install_key: 'T:T0BAD' }).update({ sealed: one.sealed });
    const { account } = await ensureAccount(db.knex, { teamId: 'T0ONE', isEnterpriseInstall: false, name: 'One' });
    const { account: org } = await ensureAccount(db.knex, {
      enterpriseId: 'E0ORG',
      isEnterpriseInstall: true,
      name: 'Org',
    });
    await db.knex('members').where({ account_id: account.id }).del();
    await db.knex('members').insert([
      { account_id: account.id, slack_user_id: 'UONE', role: 'AccountAdmin', status: 'active', sort_name: 'one' },
      { account_id: org.id, slack_user_id: 'UORG', role: 'AccountUser', status: 'active', sort_name: 'org' },
    ]);
    const client = db.knex.client as { acquireConnection: () => Promise<unknown> };
    const acquired = vi.spyOn(client, 'acquireConnection');
    try {
      const [first, second, orgWide, none, moved] = await Promise.allSettled([
        vault.loadWithActor({ teamId: 'T0ONE', isEnterpriseInstall: false }, 'UONE'),
        vault.loadWithActor({ teamId: 'T0TWO', isEnterpriseInstall: false }, 'UONE'),
        vault.loadWithActor({ teamId: 'T0ANY', enterpriseId: 'E0ORG', isEnterpriseInstall: true }, 'UORG'),
        vault.loadWithActor({ teamId: 'T0NONE', isEnterpriseInstall: false }, 'UONE'),
        vault.loadWithActor({ teamId: 'T0BAD', isEnterpriseInstall: false }, 'UONE'),
      ]);
      expect(acquired).toHaveBeenCalledTimes(1);
      const value = <T>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : undefined);
      expect(value(first)).toMatchObject({
        installation: { bot: { token: BOT_TOKEN } },
        actor: { account: { id: account.id }, member: { slackUserId: 'UONE', role: 'AccountAdmin' } },
      });
      // Installed, but no account yet: nobody to resolve.
      expect(value(second)).toMatchObject({ installation: { bot: { token: 'xoxb-2222-other' } }, actor: undefined });
      expect(value(orgWide)).toMatchObject({
        installation: { bot: { token: 'xoxb-org' } },
        actor: { account: { id: org.id }, member: { slackUserId: 'UORG', role: 'AccountUser' } },
      });
      expect(value(none)).toEqual({ installation: undefined, actor: undefined });
      // A row that cannot be read fails its own request only.
      expect(moved.status === 'rejected' && moved.reason).toBeInstanceOf(InstallationUnreadable);
    } finally {
      acquired.mockRestore();
    }
  });

  it('has no installation for a payload that names no workspace, or no org for an org-wide install', async () => {
    const store = installationStore(vault);
    await expect(
      store.fetchInstallation({ teamId: undefined, enterpriseId: 'E0ORG', isEnterpriseInstall: false }),
    ).rejects.toBeInstanceOf(NotInstalled);
    await expect(
      store.fetchInstallation({ teamId: 'T0ONE', enterpriseId: undefined, isEnterpriseInstall: true }),
    ).rejects.toBeInstanceOf(NotInstalled);
  });

  it("tells a missing installation from an outage and from a bug, through Bolt's wrappers", () => {
    // Bolt's AuthorizationError wraps the OAuth package's, which wraps what the store threw.
    const wrapped = (error: unknown) => {
      const inner = Object.assign(new Error('authorize failed'), { original: error });
      return Object.assign(new Error('Authorization of incoming event did not succeed.'), { original: inner });
    };
    expect(authorizationFailure(wrapped(new NotInstalled()))).toEqual({ kind: 'not_installed' });
    // Knex's pool timeout wraps the pool's own, which alone says nothing.
    const timeout = Object.assign(new Error('Knex: Timeout acquiring a connection.'), {
      name: 'KnexTimeoutError',
      cause: new Error('operation timed out for an unknown reason'),
    });
    expect(authorizationFailure(wrapped(timeout))).toMatchObject({ kind: 'unavailable', error: timeout });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(authorizationFailure(wrapped(refused))).toMatchObject({ kind: 'unavailable' });
    const unreadable = new InstallationUnreadable();
    expect(authorizationFailure(wrapped(unreadable))).toEqual({ kind: 'error', error: unreadable });
  });

  it('refuses a short key and a key without its workspace', async () => {
    expect(() => new InstallationVault({ knex: db.knex, encryptionKey: 'short' })).toThrow(/32 characters/);
    await expect(vault.save({ isEnterpriseInstall: false }, {})).rejects.toThrow(/team id/);
  });

  describe('installing and uninstalling', () => {
    let services: InstallationService;
    const key = (team: string) => ({ teamId: team, enterpriseId: null, isEnterpriseInstall: false });
    const installer = (id: string) => ({ slackUserId: id, displayName: id.toLowerCase() });
    const activeAdmins = (accountId: number) =>
      db
        .knex('members')
        .where({ account_id: accountId, role: 'AccountAdmin', status: 'active' })
        .orderBy('slack_user_id')
        .pluck('slack_user_id');

    beforeEach(async () => {
      for (const table of ['audit_log', 'members', 'accounts']) await db.knex(table).del();
      services = new InstallationService({ knex: db.knex, vault, now: () => new Date() });
    });

    it('makes the first installer the only AccountAdmin when two install a new workspace at once', async () => {
      const results = await Promise.all(
        ['UONE', 'UTWO', 'UTHREE', 'UFOUR'].map((id) =>
          services.installed({
            key: key('T0RACE'),
            name: 'Race',
            installer: installer(id),
            data: installation('T0RACE'),
          }),
        ),
      );
      const accountIds = new Set(results.map((r) => r.account.id));
      expect(accountIds.size).toBe(1);
      expect(results.filter((r) => r.installer === 'made_admin')).toHaveLength(1);
      expect(results.filter((r) => !r.reinstall)).toHaveLength(1);
      const [accountId] = [...accountIds] as [number];
      const made = results.find((r) => r.installer === 'made_admin');
      expect(made).toBeDefined();
      expect(await activeAdmins(accountId)).toHaveLength(1);
      expect(await db.knex('installations').where({ install_key: 'T:T0RACE' })).toHaveLength(1);
      expect(await db.knex('audit_log').where({ account_id: accountId, action: 'app.installed' })).toHaveLength(4);
    });

    it('never changes roles on a re-install while an AccountAdmin can act', async () => {
      const first = await services.installed({
        key: key('T0ONE'),
        name: 'One',
        installer: installer('UADA'),
        data: installation('T0ONE'),
      });
      expect(first).toMatchObject({ reinstall: false, installer: 'made_admin' });
      const again = await services.installed({
        key: key('T0ONE'),
        name: 'One renamed',
        installer: installer('UBOB'),
        data: installation('T0ONE', 'xoxb-4444-again'),
      });
      expect(again).toMatchObject({ reinstall: true, installer: 'not_made_admin' });
      expect(again.account).toMatchObject({ id: first.account.id, name: 'One renamed' });
      expect(await activeAdmins(first.account.id)).toEqual(['UADA']);
      expect(await db.knex('members').where({ slack_user_id: 'UBOB' })).toEqual([]);
      const byAda = await services.installed({ key: key('T0ONE'), name: null, installer: installer('UADA'), data: {} });
      expect(byAda).toMatchObject({ installer: 'already_admin', account: { name: 'One renamed' } });
    });

    it('forgets the tokens once, keeps the account and its members, and audits it', async () => {
      const { account } = await services.installed({
        key: key('T0ONE'),
        name: 'One',
        installer: installer('UADA'),
        data: installation('T0ONE'),
      });
      expect(await services.botToken(account)).toBe(BOT_TOKEN);
      expect(await services.uninstalled(key('T0ONE'), 'app_uninstalled')).toEqual({ removed: true });
      expect(await services.uninstalled(key('T0ONE'), 'tokens_revoked')).toEqual({ removed: false });
      expect(await services.botToken(account)).toBeUndefined();
      expect(await activeAdmins(account.id)).toEqual(['UADA']);
      const entries = await db.knex('audit_log').where({ account_id: account.id, action: 'app.uninstalled' });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actor: 'Slack', source: 'slack_event' });
      // Another workspace's install is untouched.
      expect(await services.uninstalled(key('T0OTHER'), 'app_uninstalled')).toEqual({ removed: false });
    });

    it('leaves an install alone when the uninstall happened before it (a late redelivery)', async () => {
      let clock = new Date('2026-11-29T10:00:00.000Z');
      services = new InstallationService({
        knex: db.knex,
        vault: new InstallationVault({ knex: db.knex, encryptionKey: KEY, now: () => clock }),
        now: () => clock,
      });
      const { account } = await services.installed({
        key: key('T0ONE'),
        name: 'One',
        installer: installer('UADA'),
        data: installation('T0ONE'),
      });
      // Uninstalled at 09:59:50 by Slack's clock, delivered now: older than the install.
      const before = new Date('2026-11-29T09:59:50.000Z');
      expect(await services.uninstalled(key('T0ONE'), 'app_uninstalled', before)).toEqual({ removed: false });
      expect(await services.botToken(account)).toBe(BOT_TOKEN);
      // An uninstall in the same second as the install (Slack's times are whole seconds), or a
      // little before by a clock a few seconds behind ours, is taken as after it.
      clock = new Date('2026-11-29T10:00:00.900Z');
      await services.installed({ key: key('T0ONE'), name: 'One', installer: null, data: installation('T0ONE') });
      const sameSecond = new Date('2026-11-29T09:59:58.000Z');
      expect(await services.uninstalled(key('T0ONE'), 'app_uninstalled', sameSecond)).toEqual({ removed: true });
      expect(await services.botToken(account)).toBeUndefined();
    });
  });
});
