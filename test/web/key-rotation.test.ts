// Rotating the key that signs registration links: with the old key in
// REGISTRATION_LINK_PREVIOUS_SECRETS, links it signed still open and confirm; new links are
// signed with the new key only.
import { describe, expect, it } from 'vitest';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import { botUnderTest } from '../support/bot.js';
import { openPgliteTestDatabase } from '../support/databases.js';
import { LINK_SECRET, PUBLIC_URL } from '../support/fixtures.js';

const OLD_KEY = 'the-registration-link-key-before-rotation-0123456789';
const OTHER_KEY = 'a-registration-link-key-nobody-configured-0123456789';

describe('registration link key rotation', () => {
  const t = botUnderTest(openPgliteTestDatabase, {
    users: ['UADMIN1', 'UNEW001', 'UNEW002'],
    env: { INITIAL_ADMINS: 'UADMIN1', REGISTRATION_LINK_PREVIOUS_SECRETS: `${OLD_KEY}, ` },
  });

  async function pendingInvite(forSlackUserId = 'UNEW001') {
    const created = await t.running.bot.services.invites.create(
      { accountId: t.running.account.id, slackUserId: 'UADMIN1', source: 'slash_command' },
      { forSlackUserId, forDisplayName: 'New' },
    );
    if (!created.ok) throw new Error(created.reason);
    return created;
  }

  const signedWith = (secret: string, invite: { id: string; expiresAt: Date }) =>
    new RegistrationLinks({ publicUrl: PUBLIC_URL, secret }).sign(invite);

  it('opens a link signed with a previous key, and not one signed with a key never configured', async () => {
    const created = await pendingInvite();
    const old = await fetch(`${t.running.url}/register/${await signedWith(OLD_KEY, created.invite)}`);
    expect(old.status).toBe(200);
    expect(await old.text()).toContain('Confirm');
    const foreign = await fetch(`${t.running.url}/register/${await signedWith(OTHER_KEY, created.invite)}`);
    expect(foreign.status).toBe(404);
  });

  it('confirms through a link signed with a previous key', async () => {
    const created = await pendingInvite('UNEW002');
    const path = `/register/${await signedWith(OLD_KEY, created.invite)}`;
    const page = await fetch(`${t.running.url}${path}`);
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const csrf = /name="csrf" value="([^"]*)"/.exec(await page.text())?.[1] ?? '';
    const joined = await fetch(`${t.running.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
      body: new URLSearchParams({ csrf }).toString(),
    });
    expect(joined.status).toBe(200);
    const member = await t.db.knex('members').where({ slack_user_id: 'UNEW002', status: 'active' }).first();
    expect(member).toMatchObject({ role: 'AccountUser' });
  });

  it('signs new links with the current key only', async () => {
    const created = await pendingInvite();
    const [header] = created.token.split('.') as [string];
    const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const current = await signedWith(LINK_SECRET, created.invite);
    const currentKid = JSON.parse(Buffer.from(current.split('.')[0] as string, 'base64url').toString('utf8')).kid;
    expect(kid).toBe(currentKid);
    // A process holding only the old key does not accept it: the old key did not sign it.
    const oldOnly = new RegistrationLinks({ publicUrl: PUBLIC_URL, secret: OLD_KEY });
    expect(await oldOnly.verify(created.token)).toEqual({ ok: false, reason: 'invalid' });
  });
});
