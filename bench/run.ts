// `npm run bench`: the bot against a bare Bolt app, in the same run, on PostgreSQL with an
// account of 10,000 members and 500 pending invites. Not a test: it measures and reports.
//
//   DATABASE_URL=postgres://… npm run bench   a database it may fill and empty
//   npm run bench                             makes and drops a database on 127.0.0.1:5432
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import knexFactory from 'knex';
import { migrateToLatest } from '../src/db/database.js';
import { InstallationVault } from '../src/services/installations.js';
import { RegistrationLinks } from '../src/services/registration-links.js';
import { sign } from '../test/support/slack-requests.js';
import { BOT_TOKEN, SlackStandIn, TEAM_ID, TEAM_NAME } from '../test/support/slack-stand-in.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
const MEMBERS = 10_000;
const INVITES = 500;
/** `npm start` on PostgreSQL and on a new PGlite folder, interleaved: PGlite within 2× (issue 19). */
const START_ROUNDS = 3;
const START_RATIO_TARGET = 2;
const CONNECTIONS = 20;
const WARMUP_S = 3;
/** Each scenario: ROUNDS rounds of ROUND_S, each right after a round of bare Bolt's. */
const ROUNDS = 3;
const ROUND_S = 5;
const PAGE_SIZE = 25; // `list` shows 25 a page
export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const LINK_SECRET = 'bench-registration-link-secret-0123456789abcdef';
export const PUBLIC_URL = 'https://bees.example.test';
export const ADMIN = 'UADMIN0001';

/** Issue 19's targets: at least `ratio` of bare Bolt's req/s, and p99 within `p99_ratio` of its. */
const TARGETS: Record<string, { ratio: number; p99_ratio?: number }> = {
  help: { ratio: 0.5, p99_ratio: 2 },
  whoami: { ratio: 0.5, p99_ratio: 2 },
  list: { ratio: 0.35 },
  'list-deep': { ratio: 0.35 },
  invites: { ratio: 0.25 },
  'register-page': { ratio: 0.4 },
};

interface Figures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

/** A scenario's rounds against the bare Bolt rounds beside them, and the median ratios. */
interface Compared extends Figures {
  name: string;
  /** Median over the rounds of (scenario req/s ÷ bare Bolt's req/s in the round before). */
  ratio: number;
  /** Median over the rounds of (scenario p99 ÷ bare Bolt's p99 in the round before). */
  p99_ratio: number;
  rounds: Array<{ rps: number; p99_ms: number; bare_rps: number; bare_p99_ms: number }>;
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

/**
 * Bare Bolt (bench/baseline.ts) in a process of its own, kept running (in `children`), once it
 * listens: alone, or as `extra` sets it (one database read per command, or the search).
 */
export async function bareBolt(children: ChildProcess[], extra: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const baseline = spawn(process.execPath, ['--import', 'tsx', 'bench/baseline.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      ...extra,
    },
    stdio: 'ignore',
  });
  children.push(baseline);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(`${url}/`, baseline, true); // Bolt answers 404 there: it listens
  return url;
}

/** The bot (`src/index.ts`, `node`: its Node flags) in a process of its own, kept running (in `children`), once /healthz answers. */
export async function startBot(
  children: ChildProcess[],
  standIn: SlackStandIn,
  extra: Record<string, string>,
  node: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...node, '--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    env: botEnv(extra, standIn, port),
    stdio: 'ignore',
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(`${url}/healthz`, child);
  return { child, url };
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

function commandBody(text: string, user = ADMIN, team = TEAM_ID): string {
  return new URLSearchParams({
    token: 'x',
    team_id: team,
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

export function slackRequest(text: string, team = TEAM_ID): Request {
  return signedRequest(commandBody(text, ADMIN, team));
}

/** A Slack-signed POST to the events path (a command's form body, or `payload=` for an interaction). */
export function signedRequest(body: string): Request {
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

/** One measured run; refuses figures made of error answers. */
async function measure(name: string, url: string, requests: Request[], seconds = ROUND_S): Promise<Figures> {
  const figures = await load(url, requests, seconds);
  if (figures.non2xx > 0 || figures.errors > 0) {
    throw new Error(`${name}: ${figures.non2xx} non-2xx answers and ${figures.errors} errors under load`);
  }
  return { rps: figures.rps, p50_ms: figures.p50_ms, p99_ms: figures.p99_ms };
}

/** The first answer must be what the scenario expects (not an error page); then a warm-up. */
async function warm(name: string, url: string, requests: Request[], check: (body: string) => boolean) {
  const first = requests[0] as Request;
  const sample = await fetch(`${url}${first.path}`, { method: first.method, headers: first.headers, body: first.body });
  const text = await sample.text();
  if (sample.status !== 200 || !check(text))
    throw new Error(`${name}: unexpected answer ${sample.status} ${text.slice(0, 200)}`);
  await load(url, requests, WARMUP_S);
}

/**
 * Rounds interleaved with bare Bolt's (bare, scenario, bare, scenario, …), so a host that speeds
 * up or slows down during the run moves both alike; each round's ratio is against the bare round
 * just before it, and the median of the rounds' ratios is reported.
 */
async function compare(
  name: string,
  url: string,
  requests: Request[],
  bare: { url: string; requests: Request[] },
): Promise<Compared> {
  const rounds: Compared['rounds'] = [];
  const all: Figures[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const b = await measure(`bare Bolt before ${name}`, bare.url, bare.requests);
    const f = await measure(name, url, requests);
    rounds.push({ rps: f.rps, p99_ms: f.p99_ms, bare_rps: b.rps, bare_p99_ms: b.p99_ms });
    all.push(f);
  }
  const ratio = median(rounds.map((r) => r.rps / r.bare_rps));
  const p99Ratio = median(rounds.map((r) => r.p99_ms / Math.max(1, r.bare_p99_ms)));
  const figures = {
    rps: median(all.map((f) => f.rps)),
    p50_ms: median(all.map((f) => f.p50_ms)),
    p99_ms: median(all.map((f) => f.p99_ms)),
  };
  log(
    `${name}: ${figures.rps} req/s (${ratio.toFixed(2)}× bare Bolt), p99 ${figures.p99_ms} ms (${p99Ratio.toFixed(2)}×)`,
  );
  return { name, ...figures, ratio: Number(ratio.toFixed(2)), p99_ratio: Number(p99Ratio.toFixed(2)), rounds };
}

export async function seed(url: string): Promise<string[]> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  try {
    await migrateToLatest(knex);
    await knex.raw(
      'TRUNCATE accounts, members, invites, audit_log, slack_request_claims, installations RESTART IDENTITY CASCADE',
    );
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

/** Multi-workspace mode: workspaces installed through OAuth, each with its admin. */
const WORKSPACES = 50;
const MULTI_ENV = {
  SLACK_BOT_TOKEN: '',
  SLACK_CLIENT_ID: '1234.5678',
  SLACK_CLIENT_SECRET: 'bench-client-secret',
  SLACK_STATE_SECRET: 'bench-state-secret-0123456789abcdef',
  SLACK_TOKEN_ENCRYPTION_KEY: 'bench-token-encryption-key-0123456789abcdef',
};
const MULTI_HELP = `help (${WORKSPACES} workspaces)`;
/** The scenarios measured again through PgBouncer, and how their names end there. */
const POOLED = ['help', 'whoami', 'list', 'list-deep', 'invites', 'register-page'];
const VIA_POOLER = ' via PgBouncer';

/**
 * A PgBouncer in transaction mode in front of the bench's own database (as .ci/run starts one):
 * the database's role default statement_timeout set, as the bot requires behind a pooler.
 * Undefined when pgbouncer is not installed or the database is not the bench's own.
 */
async function startPooler(url: string, own: boolean): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  if (!own || spawnSync('pgbouncer', ['--version']).status !== 0) return undefined;
  const u = new URL(url);
  const database = u.pathname.slice(1);
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await knex.raw(`ALTER DATABASE "${database}" SET statement_timeout = '5s'`);
  } finally {
    await knex.destroy();
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-bench-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const user = decodeURIComponent(u.username) || 'postgres';
  writeFileSync(path.join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    `[databases]\n* = host=${u.hostname} port=${u.port || 5432}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = trust\nauth_file = ${dir}/userlist.txt\npool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 20\n`,
    { mode: 0o644 },
  );
  // PgBouncer refuses to run as root: as the database's owner then.
  const asUser = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
  const child = spawn('pgbouncer', [...asUser, path.join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  const pooled = new URL(url);
  pooled.hostname = '127.0.0.1';
  pooled.port = String(port);
  const stopIt = async () => {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    const probe = knexFactory({ client: 'pg', connection: pooled.toString(), pool: { min: 0, max: 1 } });
    try {
      await probe.raw('SELECT 1');
      return { url: pooled.toString(), stop: stopIt };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await probe.destroy();
    }
  }
  await stopIt();
  log('PgBouncer did not come up: the pooled scenarios are left out');
  return undefined;
}
const MULTI_TARGET = 0.9;
const workspaceId = (i: number) => `TBENCH${String(i).padStart(3, '0')}`;

async function seedWorkspaces(url: string): Promise<void> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  try {
    const vault = new InstallationVault({ knex, encryptionKey: MULTI_ENV.SLACK_TOKEN_ENCRYPTION_KEY });
    for (let i = 1; i <= WORKSPACES; i++) {
      const team = workspaceId(i);
      const [account] = await knex('accounts')
        .insert({ slack_team_id: team, name: `Bench ${i}` })
        .returning('id');
      await knex('members').insert({
        account_id: (account as { id: number }).id,
        slack_user_id: ADMIN,
        display_name: 'Bench Admin',
        sort_name: 'bench admin',
        role: 'AccountAdmin',
        status: 'active',
      });
      await vault.save(
        { teamId: team, isEnterpriseInstall: false },
        {
          team: { id: team, name: `Bench ${i}` },
          enterprise: undefined,
          user: { id: ADMIN, token: undefined, scopes: undefined },
          bot: { token: `xoxb-bench-${i}`, userId: `UBOT${i}`, id: `BBOT${i}`, scopes: ['commands'] },
          tokenType: 'bot',
          isEnterpriseInstall: false,
          appId: 'A0BENCH',
          authVersion: 'v2',
        },
      );
    }
  } finally {
    await knex.destroy();
  }
}

async function empty(url: string): Promise<void> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await knex.raw(
      'TRUNCATE accounts, members, invites, audit_log, slack_request_claims, installations RESTART IDENTITY CASCADE',
    );
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
  const stops: Array<() => Promise<void>> = [];
  try {
    log(`seeding ${MEMBERS} members and ${INVITES} pending invites`);
    const tokens = await seed(url);
    await seedWorkspaces(url);

    // Rounds interleaved (PostgreSQL, a new PGlite folder, …) and the median of their ratios, as
    // for the scenarios: one start of each drew whatever the host was doing at that moment.
    log('start times');
    const pgStarts: number[] = [];
    const pgliteStarts: number[] = [];
    const startRatios: number[] = [];
    for (let i = 0; i < START_ROUNDS; i++) {
      const pgPort = await freePort();
      const pg = await startTime(botEnv({ DATABASE_URL: url }, standIn, pgPort), pgPort);
      const litePort = await freePort();
      const lite = await startTime(
        botEnv({ PGLITE_DATA_DIR: path.join(pglite, `db${i}`) }, standIn, litePort),
        litePort,
      );
      pgStarts.push(pg);
      pgliteStarts.push(lite);
      startRatios.push(lite / pg);
    }
    const port1 = await freePort();
    const pgliteRestart = await startTime(botEnv({ PGLITE_DATA_DIR: path.join(pglite, 'db0') }, standIn, port1), port1);
    const start_ms = { postgres: median(pgStarts), pglite: median(pgliteStarts), pglite_restart: pgliteRestart };
    const start_ratio = Number(median(startRatios).toFixed(2));
    log(
      'start',
      start_ms,
      `PGlite in a new folder ${start_ratio}× PostgreSQL (rounds ${startRatios.map((r) => r.toFixed(2)).join(', ')})`,
    );

    const bareUrl = await bareBolt(children);
    const bareQueryUrl = await bareBolt(children, { BASELINE_DATABASE_URL: url });

    log('the bot, on PostgreSQL');
    // BENCH_PROFILE=<dir>: a CPU profile of the bot, written when it stops.
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const { child: bot, url: botUrl } = await startBot(
      children,
      standIn,
      { DATABASE_URL: url, INITIAL_ADMINS: ADMIN },
      profile,
    );
    log(`the bot in multi-workspace mode, ${WORKSPACES} workspaces installed`);
    const { url: multiUrl } = await startBot(children, standIn, { DATABASE_URL: url, ...MULTI_ENV });
    const deepPage = Math.ceil(((MEMBERS / PAGE_SIZE) * 3) / 4) + 1;
    // Requests are signed when a round starts: Bolt refuses a signature older than 5 minutes.
    const scenarios: Array<{ name: string; url: string; make: () => Request[]; check: (body: string) => boolean }> = [
      {
        name: 'bare Bolt + one query',
        url: bareQueryUrl,
        make: () => [slackRequest('help')],
        check: (b) => b.includes('You are'),
      },
      {
        name: 'help',
        url: botUrl,
        make: () => [slackRequest('help')],
        check: (b) => b.includes('ChatBees user admin'),
      },
      { name: 'whoami', url: botUrl, make: () => [slackRequest('whoami')], check: (b) => b.includes('AccountAdmin') },
      {
        name: 'list',
        url: botUrl,
        make: () => [slackRequest('list')],
        check: (b) => b.includes(`${MEMBERS.toLocaleString('en-US')} in all`) && b.includes('page 1 of'),
      },
      {
        name: 'list-deep',
        url: botUrl,
        make: () => [slackRequest(`list page ${deepPage}`)],
        check: (b) => b.includes(`page ${deepPage} of ${MEMBERS / PAGE_SIZE}`),
      },
      {
        name: 'invites',
        url: botUrl,
        make: () => [slackRequest('invites')],
        check: (b) => b.includes('Pending invites') && b.includes('bench'),
      },
      {
        name: MULTI_HELP,
        url: multiUrl,
        make: () => Array.from({ length: WORKSPACES }, (_, i) => slackRequest('help', workspaceId(i + 1))),
        check: (b) => b.includes('ChatBees user admin'),
      },
      {
        name: 'register-page',
        url: botUrl,
        make: () => tokens.map((token) => ({ method: 'GET' as const, path: `/register/${token}` })),
        check: (b) => b.includes('Confirm and join'),
      },
    ];
    // The same scenarios through PgBouncer in transaction mode (no target: the price is reported).
    const pooler = process.env.BENCH_NO_POOLER ? undefined : await startPooler(url, given === undefined);
    if (pooler) {
      stops.push(pooler.stop);
      log(`the bot through PgBouncer (transaction mode) at ${new URL(pooler.url).port}`);
      const { url: pooledUrl } = await startBot(children, standIn, {
        DATABASE_URL: pooler.url,
        DATABASE_POOLER: 'transaction',
        INITIAL_ADMINS: ADMIN,
      });
      for (const direct of scenarios.filter((sc) => POOLED.includes(sc.name)))
        scenarios.push({ ...direct, name: `${direct.name}${VIA_POOLER}`, url: pooledUrl });
    } else log('no PgBouncer (not installed, or DATABASE_URL given): the pooled scenarios are left out');
    const only = process.env.BENCH_ONLY?.split(',');
    const chosen = scenarios.filter((s) => !only || only.includes(s.name));
    const bare = { url: bareUrl, requests: [] as Request[] };
    await warm('bare Bolt', bareUrl, [slackRequest('help')], () => true);
    for (const scenario of chosen) await warm(scenario.name, scenario.url, scenario.make(), scenario.check);
    const results: Compared[] = [];
    let baselineRounds: Figures[] = [];
    for (const scenario of chosen) {
      bare.requests = [slackRequest('help')];
      const compared = await compare(scenario.name, scenario.url, scenario.make(), bare);
      results.push(compared);
      baselineRounds = baselineRounds.concat(
        compared.rounds.map((r) => ({ rps: r.bare_rps, p50_ms: 0, p99_ms: r.bare_p99_ms })),
      );
    }
    const baselineFigures: Figures = {
      rps: median(baselineRounds.map((f) => f.rps)),
      p50_ms: 0,
      p99_ms: median(baselineRounds.map((f) => f.p99_ms)),
    };
    const withQuery = results.find((r) => r.name === 'bare Bolt + one query');
    const measured = results
      .filter((r) => r !== withQuery)
      .map((r) => {
        const target = TARGETS[r.name];
        const met = target
          ? r.ratio >= target.ratio && (target.p99_ratio === undefined || r.p99_ratio <= target.p99_ratio)
          : undefined;
        return { ...r, ...(target ? { target, met } : {}) };
      });
    const single = measured.find((r) => r.name === 'help');
    const many = measured.find((r) => r.name === MULTI_HELP);
    const multiWorkspace =
      single && many
        ? {
            workspaces: WORKSPACES,
            help_vs_single: Number((many.ratio / single.ratio).toFixed(2)),
            target: MULTI_TARGET,
            met: many.ratio / single.ratio >= MULTI_TARGET,
          }
        : null;
    if (multiWorkspace)
      log(`multi-workspace help vs single: ${multiWorkspace.help_vs_single}× (target ≥ ${MULTI_TARGET})`);
    const status = readFileSync(`/proc/${bot.pid}/status`, 'utf8');
    const rss_mb = Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
    await stop(bot);

    const output = {
      date: new Date().toISOString().slice(0, 10),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      connections: CONNECTIONS,
      rounds: ROUNDS,
      round_s: ROUND_S,
      // Ratios first: the hosts vary about 3× from day to day, ratios from one run do not.
      ratios: Object.fromEntries(measured.map((r) => [r.name, { rps: r.ratio, p99: r.p99_ratio }])),
      targets_met:
        measured.every((r) => r.met !== false) && multiWorkspace?.met !== false && start_ratio <= START_RATIO_TARGET,
      // `help` served in multi-workspace mode (installation read per request) against single.
      multi_workspace: multiWorkspace,
      // Each scenario through PgBouncer (transaction mode) as a share of the same one direct.
      pooler_vs_direct: Object.fromEntries(
        measured
          .filter((r) => r.name.endsWith(VIA_POOLER))
          .map((r) => {
            const direct = measured.find((d) => d.name === r.name.slice(0, -VIA_POOLER.length));
            return [r.name.slice(0, -VIA_POOLER.length), direct ? Number((r.ratio / direct.ratio).toFixed(2)) : null];
          }),
      ),
      baseline: baselineFigures,
      // Not a target: bare Bolt reading one row per command, to tell Bolt's and the database's
      // share of a command's cost from the bot's own.
      baseline_with_query: withQuery ?? null,
      scenarios: measured,
      start_ms,
      // PGlite's start in a new folder against PostgreSQL's: the median of interleaved rounds.
      start_ratio,
      rss_mb,
      members: MEMBERS,
      invites: INVITES,
      // The search's and the bulk invitation's figures stay until they run again.
      ...laterParts(),
    };
    writeFileSync(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(output, null, 2)}\n`);
    printTable(output);
    // After the others, each on its own database and stand-in: they merge their figures into
    // results.json. The processes above are stopped first: idle, they still poll their queues.
    for (const child of children.splice(0)) await stop(child).catch(() => {});
    for (const stopIt of stops.splice(0)) await stopIt().catch(() => {});
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
    for (const stopIt of stops) await stopIt().catch(() => {});
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
  baseline_with_query: Compared | null;
  scenarios: Array<Compared & { target?: { ratio: number; p99_ratio?: number }; met?: boolean }>;
  start_ms: Record<string, number>;
  start_ratio: number;
  rss_mb: number;
  members: number;
  multi_workspace: { workspaces: number; help_vs_single: number; target: number; met: boolean } | null;
}): void {
  const target = (t?: { ratio: number; p99_ratio?: number }) =>
    t ? `≥ ${t.ratio}${t.p99_ratio ? `, p99 ≤ ${t.p99_ratio}×` : ''}` : '';
  const rows = [
    ['scenario', 'req/s vs bare Bolt', 'p99 vs bare Bolt', 'target', 'req/s', 'p50 ms', 'p99 ms'],
    ['bare Bolt (baseline)', '1.00', '1.00', '', String(o.baseline.rps), '', String(o.baseline.p99_ms)],
    ...(o.baseline_with_query ? [o.baseline_with_query] : []).concat(o.scenarios).map((s) => {
      const t = (s as { target?: { ratio: number; p99_ratio?: number }; met?: boolean }).target;
      const met = (s as { met?: boolean }).met;
      return [
        s.name,
        s.ratio.toFixed(2),
        s.p99_ratio.toFixed(2),
        t ? `${target(t)} ${met ? '✓' : '✗'}` : 'not a target',
        String(s.rps),
        String(s.p50_ms),
        String(s.p99_ms),
      ];
    }),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\n${o.date} · ${o.machine} · ${o.members} members, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${ROUND_S} s (median ratios)\n`,
  );
  console.log(line(rows[0] as string[]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(
    `\nstart (npm start → /healthz 200): PostgreSQL ${o.start_ms.postgres} ms, PGlite ${o.start_ms.pglite} ms (new folder, ${o.start_ratio}× PostgreSQL, target ≤ ${START_RATIO_TARGET}×), ${o.start_ms.pglite_restart} ms (existing)`,
  );
  console.log(`resident memory after the run: ${o.rss_mb} MB`);
  const m = o.multi_workspace;
  if (m)
    console.log(
      `help with ${m.workspaces} workspaces installed vs single-workspace mode: ${m.help_vs_single}× (≥ ${m.target} ${m.met ? '✓' : '✗'})`,
    );
}

// Run as `npm run bench`; imported (bulk-invitation.ts uses its helpers), it runs nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error('[bench] failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
