// The HTTP server's own routes: liveness, readiness (the database answers), and what it
// says to paths and methods it does not serve. The real bot on a free port.
import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { botUnderTest, startTestBot } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { SlackStandIn } from '../support/slack-stand-in.js';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  ms: number;
}

async function get(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${base}${path}`, { redirect: 'manual', ...init });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, ms: Date.now() - started };
}

function json(answer: Answer): unknown {
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  return JSON.parse(answer.text);
}

describe.each(backends)('health and routing on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1'], env: { INITIAL_ADMINS: 'UADMIN1' } });

  it('GET /healthz answers 200 {status: "ok"}; HEAD too', async () => {
    const answer = await get(t.running.url, '/healthz');
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ status: 'ok' });
    const head = await get(t.running.url, '/healthz', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('GET /readyz answers 200 while the database answers', async () => {
    const answer = await get(t.running.url, '/readyz');
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ status: 'ready' });
  });

  it('GET /readyz answers 503 within its deadline while the database is out of reach, and 200 again after', async () => {
    // Every pooled connection busy: the readiness ping cannot get one.
    const poolMax = (t.db.knex.client.config as Knex.Config).pool?.max ?? 1;
    const held: Knex.Transaction[] = [];
    try {
      for (let i = 0; i < poolMax; i++) held.push(await t.db.knex.transaction());
      const answer = await get(t.running.url, '/readyz');
      expect(answer.status).toBe(503);
      expect(json(answer)).toEqual({ status: 'database unavailable' });
      expect(answer.ms).toBeLessThan(5_000);
      expect((await get(t.running.url, '/healthz')).status).toBe(200);
    } finally {
      for (const trx of held) await trx.rollback();
    }
    expect((await get(t.running.url, '/readyz')).status).toBe(200);
  });

  it('answers 404 with a plain page to an unknown path, and to the bare /register/', async () => {
    for (const path of ['/', '/nope', '/healthz/extra', '/register', '/slack/events/x', '/.env']) {
      const answer = await get(t.running.url, path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.text).not.toMatch(/<script/i);
    }
    const register = await get(t.running.url, '/register/');
    expect(register.status).toBe(404);
    expect(register.text).toContain('This link is not valid.');
  });

  it('answers 405 (Allow: POST) to GET /slack/events', async () => {
    const answer = await get(t.running.url, '/slack/events');
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
    expect(t.standIn.calls.filter((c) => c.method !== 'auth.test' && c.method !== 'users.info')).toEqual([]);
  });

  it('refuses a POST to /slack/events that Slack did not sign', async () => {
    const body = t.running.slack.commandBody('UADMIN1', 'whoami').toString();
    const unsigned = await get(t.running.url, '/slack/events', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(unsigned.status).toBe(401);
    const wrongSecret = await t.running.slack.post(body, {}, { secret: 'not-the-signing-secret' });
    expect(wrongSecret.status).toBe(401);
    const signed = await t.running.slack.post(body);
    expect(signed.status).toBe(200);
    expect(signed.text).toContain('AccountAdmin');
  });

  it('keeps /healthz at 200 but /readyz at 503 once its database is closed', async () => {
    // A bot of its own, on a database of its own, so closing it harms no other test.
    const own = await backend.open();
    const ownStandIn = await new SlackStandIn().start();
    const bot = await startTestBot({ db: own, standIn: ownStandIn });
    try {
      expect((await get(bot.url, '/readyz')).status).toBe(200);
      await own.close();
      const ready = await get(bot.url, '/readyz');
      expect(ready.status).toBe(503);
      expect(json(ready)).toEqual({ status: 'database unavailable' });
      expect(ready.ms).toBeLessThan(5_000);
      const live = await get(bot.url, '/healthz');
      expect(live.status).toBe(200);
      expect(json(live)).toEqual({ status: 'ok' });
      // The process keeps answering (no crash) on the closed database.
      expect((await get(bot.url, '/readyz')).status).toBe(503);
    } finally {
      await bot.stop();
      await ownStandIn.stop();
      await own.close();
    }
  });
});
