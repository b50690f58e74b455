// `npm run bench`: the bot against a bare Bolt app, in the same run, on PostgreSQL with an
// account of 10,000 members and 500 pending invites. Not a test: it measures and reports.
//
//   DATABASE_URL=postgres://… npm run bench   a database it may fill and empty
//   npm run bench                             makes and drops a database on 127.0.0.1:5432
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import knexFactory from 'knex';
import { migrateToLatest } from '../src/db/database.js';
import { RegistrationLinks } from '../src/services/registration-links.js';
import { sign } from '../test/support/slack-requests.js';
import { BOT_TOKEN, SlackStandIn, TEAM_ID, TEAM_NAME } from '../test/support/slack-stand-in.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
const MEMBERS = 10_000;
const INVITES = 500;
const CONNECTIONS = 20;
const WARMUP_S = 3;
const DURATION_S = 10;
const PAGE_SIZE = 25; // `list` shows 25 a page
export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const LINK_SECRET = 'bench-registration-link-secret-0123456789abcdef';
export const PUBLIC_URL = 'https://bees.example.test';
export const ADMIN = 'UADMIN0001';

interface Figures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

export const log = (...parts: unknown[]) => console.error('[bench]', ...parts);

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers (with 200, or with any status when `anyStatus`). */
export async function waitHealthy(
  url: string,
  child: ChildProcess,
  anyStatus = false,
  deadlineMs = 60_000,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    try {
      const status = (await fetch(url)).status;
      if (status === 200 || anyStatus) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${url} did not answer in time`);
}

export async function stop(child: ChildProcess): Promise<void> {
  // Ended already: with a code, or by a signal (bare Bolt has no SIGTERM handler), when
  // exitCode stays null and waiting for 'exit' would wait forever.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export function botEnv(extra: Record<string, string>, standIn: SlackStandIn, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    PORT: String(port),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: standIn.apiUrl,
    PUBLIC_URL,
    REGISTRATION_LINK_SECRET: LINK_SECRET,
    // The limiter stays on the page's path, set high enough not to refuse the load.
    RATE_LIMIT_PER_ADDRESS: '100000000',
    RATE_LIMIT_PER_LINK: '100000000',
    ...extra,
  };
}

/** `npm start` until /healthz answers 200, in milliseconds. */
async function startTime(env: NodeJS.ProcessEnv, port: number): Promise<number> {
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: 'ignore', detached: true });
  try {
    await waitHealthy(`http://127.0.0.1:${port}/healthz`, child);
    return Math.round(performance.now() - started);
  } finally {
    // npm runs node in a child: signal the whole group.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function commandBody(text: string, user = ADMIN): string {
  return new URLSearchParams({
    token: 'x',
    team_id: TEAM_ID,
    team_domain: 'acme',
    channel_id: 'C0BENCH',
    channel_name: 'bench',
    user_id: user,
    user_name: 'admin',
    command: '/chatbees-users',
    text,
    api_app_id: 'A0BENCH',
    is_enterprise_install: 'false',
    response_url: 'http://127.0.0.1:9/response',
    trigger_id: '1.2.3',
  }).toString();
}

export type Request = { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };

export function slackRequest(text: string): Request {
  const body = commandBody(text);
  return {
    method: 'POST',
    path: '/slack/events',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...sign(SIGNING_SECRET, body) },
    body,
  };
}

async function load(
  url: string,
  requests: Request[],
  seconds: number,
): Promise<Figures & { non2xx: number; errors: number }> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, requests });
  return {
    rps: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** Warm up, then measure; refuse figures made of error answers. */
async function measure(
  name: string,
  url: string,
  requests: Request[],
  check: (body: string) => boolean,
): Promise<Figures> {
  const first = requests[0] as Request;
  const sample = await fetch(`${url}${first.path}`, { method: first.method, headers: first.headers, body: first.body });
  const text = await sample.text();
  if (sample.status !== 200 || !check(text))
    throw new Error(`${name}: unexpected answer ${sample.status} ${text.slice(0, 200)}`);
  await load(url, requests, WARMUP_S);
  const figures = await load(url, requests, DURATION_S);
  if (figures.non2xx > 0 || figures.errors > 0) {
    throw new Error(`${name}: ${figures.non2xx} non-2xx answers and ${figures.errors} errors under load`);
  }
  log(`${name}: ${figures.rps} req/s, p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms`);
  return { rps: figures.rps, p50_ms: figures.p50_ms, p99_ms: figures.p99_ms };
}

async function seed(url: string): Promise<string[]> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  try {
    await migrateToLatest(knex);
    await knex.raw('TRUNCATE accounts, members, invites, audit_log, slack_request_claims RESTART IDENTITY CASCADE');
    const [account] = await knex('accounts').insert({ slack_team_id: TEAM_ID, name: TEAM_NAME }).returning('id');
    const accountId = (account as { id: number }).id;
    await knex.raw(
      `INSERT INTO members (account_id, slack_user_id, display_name, sort_name, role, status, registered_at)
       SELECT ?, 'U' || lpad(n::text, 9, '0'), 'Member ' || lpad(n::text, 5, '0'), 'member ' || lpad(n::text, 5, '0'),
              CASE WHEN n <= 3 THEN 'AccountAdmin' ELSE 'AccountUser' END, 'active', now() - (n || ' minutes')::interval
       FROM generate_series(1, ?) AS n`,
      [accountId, MEMBERS],
    );
    // The admin who runs the commands.
    await knex('members').where({ slack_user_id: 'U000000001' }).update({ slack_user_id: ADMIN });
    const expires = new Date(Date.now() + 7 * 86_400_000);
    const rows = Array.from({ length: INVITES }, (_, i) => ({
      id: `bench${String(i).padStart(5, '0')}`,
      account_id: accountId,
      created_by: ADMIN,
      for_slack_user_id: `UINVITE${String(i).padStart(5, '0')}`,
      for_display_name: `Invitee ${i}`,
      role: 'AccountUser',
      created_at: new Date(),
      expires_at: expires,
      max_uses: 1,
      uses: 0,
    }));
    await knex('invites').insert(rows);
    await knex.raw('VACUUM ANALYZE members');
    await knex.raw('VACUUM ANALYZE invites');
    const links = new RegistrationLinks({ publicUrl: PUBLIC_URL, secret: LINK_SECRET });
    return Promise.all(rows.map((r) => links.sign({ id: r.id, expiresAt: expires })));
  } finally {
    await knex.destroy();
  }
}

async function empty(url: string): Promise<void> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await knex.raw('TRUNCATE accounts, members, invites, audit_log, slack_request_claims RESTART IDENTITY CASCADE');
  } finally {
    await knex.destroy();
  }
}

async function main(): Promise<void> {
  const given = process.env.DATABASE_URL;
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const scratch = `chatbees_users_bench_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: given ?? server, pool: { min: 0, max: 1 } });
  let url = given;
  if (!url) {
    await admin.raw(`CREATE DATABASE "${scratch}"`);
    const u = new URL(server);
    u.pathname = `/${scratch}`;
    url = u.toString();
  }
  const standIn = await new SlackStandIn().start();
  standIn.addUser({ id: ADMIN });
  const pglite = mkdtempSync(path.join(tmpdir(), 'chatbees-users-bench-'));
  const children: ChildProcess[] = [];
  try {
    log(`seeding ${MEMBERS} members and ${INVITES} pending invites`);
    const tokens = await seed(url);

    log('start times');
    const pgStarts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      pgStarts.push(await startTime(botEnv({ DATABASE_URL: url }, standIn, port), port));
    }
    const port0 = await freePort();
    const pgliteFirst = await startTime(botEnv({ PGLITE_DATA_DIR: path.join(pglite, 'db') }, standIn, port0), port0);
    const port1 = await freePort();
    const pgliteRestart = await startTime(botEnv({ PGLITE_DATA_DIR: path.join(pglite, 'db') }, standIn, port1), port1);
    const start_ms = { postgres: median(pgStarts), pglite: pgliteFirst, pglite_restart: pgliteRestart };
    log('start', start_ms);

    /** Bare Bolt, alone or with one database read per command. */
    const bareBolt = async (name: string, extra: Record<string, string>): Promise<Figures> => {
      const basePort = await freePort();
      const baseline = spawn(process.execPath, ['--import', 'tsx', 'bench/baseline.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          PORT: String(basePort),
          SLACK_SIGNING_SECRET: SIGNING_SECRET,
          ...extra,
        },
        stdio: 'ignore',
      });
      children.push(baseline);
      const baseUrl = `http://127.0.0.1:${basePort}`;
      await waitHealthy(`${baseUrl}/`, baseline, true); // Bolt answers 404 there: it listens
      const figures = await measure(name, baseUrl, [slackRequest('help')], () => true);
      await stop(baseline);
      return figures;
    };
    log('baseline: bare Bolt');
    const baselineFigures = await bareBolt('baseline', {});
    const withQuery = await bareBolt('bare Bolt + one query', { BASELINE_DATABASE_URL: url });

    log('the bot, on PostgreSQL');
    const botPort = await freePort();
    // BENCH_PROFILE=<dir>: a CPU profile of the bot, written when it stops.
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const bot = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/index.ts'], {
      cwd: ROOT,
      env: botEnv({ DATABASE_URL: url, INITIAL_ADMINS: ADMIN }, standIn, botPort),
      stdio: 'ignore',
    });
    children.push(bot);
    const botUrl = `http://127.0.0.1:${botPort}`;
    await waitHealthy(`${botUrl}/healthz`, bot);
    const deepPage = Math.ceil(((MEMBERS / PAGE_SIZE) * 3) / 4) + 1;
    const scenarios: Array<{ name: string; requests: Request[]; check: (body: string) => boolean }> = [
      { name: 'help', requests: [slackRequest('help')], check: (b) => b.includes('ChatBees user admin') },
      { name: 'whoami', requests: [slackRequest('whoami')], check: (b) => b.includes('AccountAdmin') },
      {
        name: 'list',
        requests: [slackRequest('list')],
        check: (b) => b.includes(`${MEMBERS} in all`) && b.includes('page 1 of'),
      },
      {
        name: 'list-deep',
        requests: [slackRequest(`list page ${deepPage}`)],
        check: (b) => b.includes(`page ${deepPage} of ${MEMBERS / PAGE_SIZE}`),
      },
      {
        name: 'invites',
        requests: [slackRequest('invites')],
        check: (b) => b.includes('Pending invites') && b.includes('bench'),
      },
      {
        name: 'register-page',
        requests: tokens.map((token) => ({ method: 'GET' as const, path: `/register/${token}` })),
        check: (b) => b.includes('Confirm and join'),
      },
    ];
    const results: Array<Figures & { name: string; ratio: number }> = [];
    const only = process.env.BENCH_ONLY?.split(',');
    for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
      const figures = await measure(scenario.name, botUrl, scenario.requests, scenario.check);
      results.push({ name: scenario.name, ...figures, ratio: Number((figures.rps / baselineFigures.rps).toFixed(2)) });
    }
    const status = readFileSync(`/proc/${bot.pid}/status`, 'utf8');
    const rss_mb = Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
    await stop(bot);

    const output = {
      date: new Date().toISOString().slice(0, 10),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      baseline: baselineFigures,
      // Not a target: bare Bolt reading one row per command, to tell Bolt's and the database's
      // share of a command's cost from the bot's own.
      baseline_with_query: { ...withQuery, ratio: Number((withQuery.rps / baselineFigures.rps).toFixed(2)) },
      scenarios: results,
      start_ms,
      rss_mb,
      members: MEMBERS,
      invites: INVITES,
      // The search's and the bulk invitation's figures stay until they run again.
      ...laterParts(),
    };
    writeFileSync(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(output, null, 2)}\n`);
    printTable(output);
    // After the others, each on its own database and stand-in: they merge their figures into results.json.
    if (!only || only.includes('member_search')) {
      const { benchSearch } = await import('./search.js');
      await benchSearch();
    }
    if (!only || only.includes('bulk_invitation')) {
      const { benchBulkInvitation } = await import('./bulk-invitation.js');
      await benchBulkInvitation();
    }
  } finally {
    for (const child of children) await stop(child).catch(() => {});
    await standIn.stop();
    rmSync(pglite, { recursive: true, force: true });
    if (given) await empty(url);
    else await admin.raw(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`);
    await admin.destroy();
  }
}

/** The keys of results.json the parts after this one write (search.ts, bulk-invitation.ts), kept. */
function laterParts(): Record<string, unknown> {
  const file = path.join(ROOT, 'bench', 'results.json');
  if (!existsSync(file)) return {};
  try {
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return Object.fromEntries(
      ['member_search', 'bulk_invitation'].flatMap((key) => (results[key] === undefined ? [] : [[key, results[key]]])),
    );
  } catch {
    return {};
  }
}

function printTable(o: {
  date: string;
  machine: string;
  baseline: Figures;
  baseline_with_query: Figures & { ratio: number };
  scenarios: Array<Figures & { name: string; ratio: number }>;
  start_ms: Record<string, number>;
  rss_mb: number;
  members: number;
}): void {
  const rows = [
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'vs bare Bolt'],
    ['bare Bolt (baseline)', String(o.baseline.rps), String(o.baseline.p50_ms), String(o.baseline.p99_ms), '1.00'],
    [
      'bare Bolt + one query',
      String(o.baseline_with_query.rps),
      String(o.baseline_with_query.p50_ms),
      String(o.baseline_with_query.p99_ms),
      o.baseline_with_query.ratio.toFixed(2),
    ],
    ...o.scenarios.map((s) => [s.name, String(s.rps), String(s.p50_ms), String(s.p99_ms), s.ratio.toFixed(2)]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(`\n${o.date} · ${o.machine} · ${o.members} members, ${CONNECTIONS} connections, ${DURATION_S} s each\n`);
  console.log(line(rows[0] as string[]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(
    `\nstart (npm start → /healthz 200): PostgreSQL ${o.start_ms.postgres} ms, PGlite ${o.start_ms.pglite} ms (new folder), ${o.start_ms.pglite_restart} ms (existing)`,
  );
  console.log(`resident memory after the run: ${o.rss_mb} MB`);
}

// Run as `npm run bench`; imported (bulk-invitation.ts uses its helpers), it runs nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error('[bench] failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
