// A real bot process on real PostgreSQL, through a TCP proxy the test cuts: commands still get
// an answer within 3 seconds, /readyz turns 503 while /healthz stays 200, the process keeps
// running, and it serves again by itself once the database is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { openPostgresTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { SIGNING_SECRET, SlackDriver } from '../support/slack-requests.js';
import { BOT_TOKEN, SlackStandIn, waitFor } from '../support/slack-stand-in.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const LINK_SECRET = 'outage-test-registration-link-secret-0123456789';
const UNAVAILABLE = /ChatBees user admin is temporarily unavailable; try again in a minute\./;
// Words of driver errors that must never reach a person.
const DRIVER_WORDS = /ECONNREFUSED|ECONNRESET|terminated|timeout|Knex|pg|connect /i;

describe.runIf(postgresUrl)('a database outage, with a real process on PostgreSQL', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let standIn: SlackStandIn;
  let bot: BotProcess;
  let slack: SlackDriver;

  beforeAll(async () => {
    db = await openPostgresTestDatabase();
    const target = new URL(db.url as string);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    standIn = await new SlackStandIn().start();
    standIn.addUser({ id: 'UADMIN1' });
    standIn.addUser({ id: 'UBOB001' });
    bot = await spawnBot({
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: standIn.apiUrl,
      DATABASE_URL: proxy.rewrite(db.url as string),
      PUBLIC_URL: 'https://bees.example.test',
      REGISTRATION_LINK_SECRET: LINK_SECRET,
      INITIAL_ADMINS: 'UADMIN1',
    });
    slack = new SlackDriver(bot.url, () => standIn.responseUrl());
  });
  afterAll(async () => {
    await bot?.stop();
    await proxy?.stop();
    await standIn?.stop();
    await db?.close();
  });

  async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const started = Date.now();
    const result = await work();
    return { result, ms: Date.now() - started };
  }

  const status = async (path: string) => (await fetch(`${bot.url}${path}`)).status;

  it('serves while the database answers', async () => {
    const answer = await slack.command('UADMIN1', 'whoami');
    expect(String(answer.json?.text)).toMatch(/AccountAdmin/);
    expect(await status('/readyz')).toBe(200);
  });

  it('answers within 3 seconds when the database is gone, without driver errors, and keeps running', async () => {
    await proxy.stop();
    for (const text of ['whoami', 'list', 'help']) {
      const { result, ms } = await timed(() => slack.command('UADMIN1', text));
      expect(result.status).toBe(200);
      expect(ms).toBeLessThan(3_000);
      expect(String(result.json?.text)).toMatch(UNAVAILABLE);
      expect(result.text).not.toMatch(DRIVER_WORDS);
    }
    // A change is refused the same way (who asks cannot even be checked), and nothing is sent.
    const { result, ms } = await timed(() => slack.command('UADMIN1', 'invite <@UBOB001>'));
    expect(ms).toBeLessThan(3_000);
    expect(String(result.json?.text)).toMatch(UNAVAILABLE);
    expect(standIn.dmsTo('UBOB001')).toHaveLength(0);

    expect(await status('/readyz')).toBe(503);
    expect(await status('/healthz')).toBe(200);
    // A well-signed link needs the database: the page says to come back, with Retry-After.
    const links = new RegistrationLinks({ publicUrl: 'https://bees.example.test', secret: LINK_SECRET });
    const token = await links.sign({ id: 'abcdefghij', expiresAt: new Date(Date.now() + 3_600_000) });
    const page = await fetch(`${bot.url}/register/${token}`);
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('60');
    expect(await page.text()).toMatch(/temporarily unavailable/);
    expect(bot.child.exitCode).toBeNull();
  });

  it('still limits the pages per client address while the database is gone, in memory', async () => {
    // 60 a minute by default, counted in the database: now in this process's memory instead.
    const statuses: number[] = [];
    for (let i = 0; i < 62; i++) statuses.push(await status(`/register/guess-${i}`));
    const first = statuses.indexOf(429);
    expect(statuses.slice(0, first).every((s) => s === 404)).toBe(true);
    // One page was asked for in the test before.
    expect(first).toBe(59);
    expect(bot.output.join('\n')).toContain('page rate limits: the database did not count; counting in this process');
    expect(bot.child.exitCode).toBeNull();
  });

  it('answers within 3 seconds when the database hangs without closing anything', async () => {
    await proxy.blackhole();
    const { result, ms } = await timed(() => slack.command('UADMIN1', 'whoami'));
    expect(ms).toBeLessThan(3_000);
    expect(String(result.json?.text)).toMatch(UNAVAILABLE);
    const ready = await timed(() => status('/readyz'));
    expect(ready.result).toBe(503);
    expect(ready.ms).toBeLessThan(3_000);
    expect(await status('/healthz')).toBe(200);
    // The pages' shared rate limit waits for the database half a second at most, then counts in
    // memory (where the test before used this address's minute up: 429, or 404 once it passed).
    const page = await timed(() => status('/register/not-a-link'));
    expect([404, 429]).toContain(page.result);
    expect(page.ms).toBeLessThan(1_500);
  });

  it('serves again by itself once the database is back, in the same process', async () => {
    const pid = bot.child.pid;
    await proxy.stop();
    await proxy.start();
    await waitFor(async () => (await status('/readyz')) === 200, 15_000, '/readyz to recover');
    const answer = await slack.command('UADMIN1', 'whoami');
    expect(String(answer.json?.text)).toMatch(/You are an \*AccountAdmin\*/);
    const body = slack.commandBody('UADMIN1', 'invite <@UBOB001>');
    await slack.post(body.toString());
    await waitFor(() => standIn.dmsTo('UBOB001').length === 1, 10_000, 'the invitation DM');
    expect(bot.child.pid).toBe(pid);
    expect(bot.child.exitCode).toBeNull();
  });

  it('logged the outage as warnings, without stack traces or secrets', () => {
    const text = bot.output.join('\n');
    const errors = bot.output.filter((line) => line.startsWith('{') && JSON.parse(line).level >= 50);
    expect(errors).toEqual([]);
    expect(text).toMatch(/database unavailable/);
    expect(text).not.toContain(LINK_SECRET);
    expect(text).not.toContain(SIGNING_SECRET);
    expect(text).not.toContain(BOT_TOKEN);
  });
});
