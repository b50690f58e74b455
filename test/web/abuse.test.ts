// The public side under abuse: floods of the registration pages (per address and per link),
// oversized and malformed Slack bodies. A clear 4xx, nothing stored, the process serving on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import { type RunningBot, startTestBot } from '../support/bot.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import { LINK_SECRET, PUBLIC_URL } from '../support/fixtures.js';
import { SIGNING_SECRET, sign } from '../support/slack-requests.js';
import { SlackStandIn } from '../support/slack-stand-in.js';

async function stored(db: TestDatabase) {
  const [members, invites, audit, claims] = await Promise.all(
    ['members', 'invites', 'audit_log', 'slack_request_claims'].map(async (t) =>
      Number((await db.knex(t).count({ n: '*' }).first())?.n),
    ),
  );
  return { members, invites, audit, claims };
}

/** A link signed with the bots' key for an invite that does not exist: genuine, and refused (404). */
function genuineLink(inviteId: string): Promise<string> {
  const links = new RegistrationLinks({ publicUrl: PUBLIC_URL, secret: LINK_SECRET });
  return links.sign({ id: inviteId, expiresAt: new Date(Date.now() + 3_600_000) });
}

describe('abuse of the public pages', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let running: RunningBot;

  beforeAll(async () => {
    db = await openPgliteTestDatabase();
    standIn = await new SlackStandIn().start();
    standIn.addUser({ id: 'UADMIN1' });
    running = await startTestBot({
      db,
      standIn,
      env: { INITIAL_ADMINS: 'UADMIN1', TRUST_PROXY: '1', RATE_LIMIT_PER_ADDRESS: '5', RATE_LIMIT_PER_LINK: '3' },
    });
  });
  afterAll(async () => {
    await running?.stop();
    await standIn?.stop();
    await db?.close();
  });

  const get = (path: string, address: string) =>
    fetch(`${running.url}${path}`, { headers: { 'X-Forwarded-For': address } });

  it('limits requests per client address, with a page that says when to retry', async () => {
    const before = await stored(db);
    for (let i = 0; i < 5; i++) expect((await get(`/register/guess-${i}`, '203.0.113.7')).status).toBe(404);
    const limited = await get('/register/guess-6', '203.0.113.7');
    expect(limited.status).toBe(429);
    const wait = Number(limited.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    expect(await limited.text()).toContain(`Too many requests. Try again in ${wait} second`);
    expect(limited.headers.get('cache-control')).toBe('no-store');
    // Another address is not affected; the proxy's X-Forwarded-For decides who is who.
    expect((await get('/register/guess-7', '198.51.100.9')).status).toBe(404);
    expect(await stored(db)).toEqual(before);
  });

  it('limits requests per registration link, whatever the address; a made-up link only per address', async () => {
    const link = await genuineLink('abcdefghij');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(`/register/${link}`, `192.0.2.${i + 1}`)).status);
    expect(statuses).toEqual([404, 404, 404, 429]);
    // Made-up tokens are not counted per link (each would be a row of its own): only their senders are.
    const madeUp: number[] = [];
    for (let i = 0; i < 4; i++) madeUp.push((await get('/register/the-same-made-up-link', `192.0.2.${i + 10}`)).status);
    expect(madeUp).toEqual([404, 404, 404, 404]);
  });

  it('limits by default to 20 requests a minute on one link', async () => {
    const standInDefaults = await new SlackStandIn().start();
    const other = await openPgliteTestDatabase();
    // Unset variables: the defaults apply.
    const defaults = await startTestBot({
      db: other,
      standIn: standInDefaults,
      env: { RATE_LIMIT_PER_ADDRESS: '', RATE_LIMIT_PER_LINK: '' },
    });
    try {
      const statuses: number[] = [];
      const link = await genuineLink('klmnopqrst');
      for (let i = 0; i < 21; i++) {
        statuses.push((await fetch(`${defaults.url}/register/${link}`)).status);
      }
      expect(statuses.filter((s) => s === 404)).toHaveLength(20);
      expect(statuses.at(-1)).toBe(429);
    } finally {
      await defaults.stop();
      await standInDefaults.stop();
      await other.close();
    }
  });

  describe('malformed Slack requests', () => {
    async function post(body: string, contentType: string, signed = true) {
      const res = await fetch(`${running.url}/slack/events`, {
        method: 'POST',
        headers: { 'Content-Type': contentType, ...(signed ? sign(SIGNING_SECRET, body) : {}) },
        body,
      });
      return res.status;
    }

    it('answers each with a 4xx, stores nothing, and keeps serving', async () => {
      const before = await stored(db);
      const cases: Array<[string, string, boolean, number]> = [
        ['payload=%7Bnot-json', 'application/x-www-form-urlencoded', true, 400],
        ['{"type": "block_actions", ', 'application/json', true, 400],
        ['command=/chatbees-users&text=list', 'text/plain', true, 400],
        ['command=/chatbees-users&text=list&user_id=UADMIN1', 'application/x-www-form-urlencoded', false, 401],
        [`payload=${'x'.repeat(600 * 1024)}`, 'application/x-www-form-urlencoded', true, 413],
      ];
      for (const [body, type, signed, expected] of cases) {
        expect(await post(body, type, signed), `${type} ${body.slice(0, 30)}`).toBe(expected);
      }
      // Many oversized bodies at once: each client reads its 413, none sees a reset.
      const huge = `payload=${'x'.repeat(3 * 1024 * 1024)}`;
      const statuses = await Promise.all(
        Array.from({ length: 20 }, () => post(huge, 'application/x-www-form-urlencoded', true)),
      );
      expect(statuses).toEqual(Array(20).fill(413));
      expect(await stored(db)).toEqual(before);
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      const still = await running.slack.command('UADMIN1', 'whoami');
      expect(String(still.json?.text)).toMatch(/AccountAdmin/);
    });
  });
});
