// `npm run bench:search` (and a part of `npm run bench`): an account of 100,000 members on
// PostgreSQL. Not a test: it measures and reports, as ratios against bare Bolt measured in the
// same run (bare Bolt in its own process; rounds interleaved bare, list, console, bare, …; the
// median of each round's ratio):
//   - `list <text>` and the console's Search (the view_submission that answers with the narrowed
//     console) at a steady 50 requests a second (a busy team of admins, well below what either
//     serves): p99 within 3× of bare Bolt's at the same rate;
//   - the same, saturated by 20 connections (as the per-request scenarios of `npm run bench`):
//     reported, no target here (issue 19's);
//   - the floor, reported beside them: bare Bolt answering `list <text>` with the domain's own
//     search (one statement) in a line, paced and interleaved the same way: what any Slack surface
//     on this search would measure, so a ratio tells the bot's own work from the host's;
//   - the bot's resident memory after `export members` (100,000 rows, a 10 MB file) against
//     idle: within 1.5×.
//
//   DATABASE_URL=postgres://… npm run bench:search   a database it may empty and fill
//   npm run bench:search                             makes and drops a database on 127.0.0.1:5432
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import knexFactory from 'knex';
import { FORMS } from '../src/slack/operations.js';
import { SlackDriver } from '../test/support/slack-requests.js';
import { SlackStandIn, TEAM_ID } from '../test/support/slack-stand-in.js';
import { round, rssMb, scratchDatabase, sleep, steadyRssMb, waitUntil } from './bulk-invitation.js';
import {
  ADMIN,
  bareBolt,
  log,
  median,
  type Request,
  ROOT,
  SIGNING_SECRET,
  signedRequest,
  slackRequest,
  startBot,
  stop,
} from './run.js';

const MEMBERS = 100_000;
const ROUNDS = 5;
const ROUND_S = 5;
const WARMUP_S = 3;
const PACED_RATE = 50;
const SEED_CHUNK = 5_000;
const SATURATED_CONNECTIONS = 20;
const TARGETS = { paced_p99_ratio: 3, rss_ratio: 1.5 } as const;
/** The bot's two searches, with the target; then the floor (bare Bolt and the search), without. */
const TARGETED = ['list', 'console'] as const;
const PACED = [...TARGETED, 'floor'] as const;

/** What people search for: a last name (2 % of the account), a full name (about 40), one email, a
 * non-ASCII name, two letters (no trigram helps), an email domain (a third of everyone), nobody.
 * The email is person 2,500's (`seed`: Ana Okafor), checked to find one member. */
const ONE_EMAIL = 'ana.okafor2500@';
const SEARCHES = ['okafor', 'ana okafor', ONE_EMAIL, 'müller', 'jo', 'bees.test', 'zz nobody'];
/** Searches whose count the bench checks first: Ana and Hana Okafor, 40 each; the email, one. */
const COUNTED = [
  ['ana okafor', 80],
  [ONE_EMAIL, 1],
] as const;

const FIRST = [
  'Ana',
  'Ben',
  'Chen',
  'Dmitri',
  'Émile',
  'Fatima',
  'Giulia',
  'Hiro',
  'Inès',
  'João',
  'Kofi',
  'Lena',
  'Mateo',
  'Nadia',
  'Olu',
  'Priya',
  'Quinn',
  'Rosa',
  'Sven',
  'Tariq',
  'Uma',
  'Viktor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoë',
  'Aiko',
  'Bruno',
  'Carmen',
  'Dara',
  'Eitan',
  'Freya',
  'Gus',
  'Hana',
  'Ivan',
  'Jo',
  'Kai',
  'Lior',
  'Mina',
  'Nils',
  'Omar',
  'Pia',
  'Raj',
  'Sara',
  'Theo',
  'Una',
  'Vera',
  'Will',
  'Yara',
  'Zane',
];
const LAST = [
  'Okafor',
  'Smith',
  'Müller',
  'García',
  'Kowalski',
  'Nakamura',
  'Rossi',
  'Silva',
  'Dubois',
  'Novak',
  'Larsen',
  'Ivanova',
  'Chen',
  'Patel',
  'Kim',
  'Nguyen',
  'Johansson',
  'O’Brien',
  'Schmidt',
  'Costa',
  'Jones',
  'Haddad',
  'Mensah',
  'Ferreira',
  'Yilmaz',
  'Kaur',
  'Lopez',
  'Becker',
  'Horvat',
  'Sato',
  'Andersen',
  'Moreau',
  'Popescu',
  'Nowak',
  'Hughes',
  'Bianchi',
  'Khan',
  'Tanaka',
  'Walsh',
  'Eriksen',
  'Fischer',
  'Reyes',
  'Adeyemi',
  'Park',
  'Wong',
  'Svoboda',
  'Lind',
  'Murphy',
  'Vargas',
  'Zhou',
];
const DOMAINS = ['acme.test', 'bees.test', 'example.test'];

interface Latency {
  p50_ms: number;
  p99_ms: number;
  rps: number;
  /** Each request's times (ms), by its place in the scenario's list. */
  samples?: number[][];
}

export interface SearchFigures {
  members: number;
  paced_rate: number;
  rounds: number;
  round_s: number;
  paced: Record<
    string,
    {
      bare_p99_ms: number[];
      p99_ms: number[];
      p99_ratio: number;
      p50_ms: number;
      /** Over all rounds, each search text's own. */
      by_text?: Record<string, { p50_ms: number; p99_ms: number }>;
    }
  >;
  saturated: Record<
    string,
    { bare_rps: number[]; rps: number[]; rps_ratio: number; bare_p99_ms: number[]; p99_ms: number[]; p99_ratio: number }
  >;
  export_s: number;
  export_bytes: number;
  rss_idle_mb: number;
  rss_after_mb: number;
  rss_peak_mb: number;
  rss_ratio: number;
  targets_met: boolean;
}

/** A text[] literal: knex would spread a JavaScript array into a list of bindings. */
const pgArray = (values: string[]) => `{${values.map((v) => `"${v}"`).join(',')}}`;

export async function seed(url: string): Promise<void> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    const [account] = await knex('accounts').insert({ slack_team_id: TEAM_ID, name: 'Acme' }).returning('id');
    // The trigram indexes take the rows into their pending list, merged once by the VACUUM below
    // (row by row, 100,000 inserts into them take minutes).
    await knex.raw("SET gin_pending_list_limit = '512MB'");
    const accountId = (account as { id: number }).id;
    // Person n: first name n % 50, last name (n / 50) % 50, so every pair recurs every 2,500.
    // 5,000 a statement: each row's count trigger updates the account's row, and one transaction
    // of 100,000 such updates walks an ever longer chain of its own row versions (minutes).
    for (let from = 1; from <= MEMBERS; from += SEED_CHUNK) {
      await knex.raw(
        `INSERT INTO members (account_id, slack_user_id, display_name, sort_name, email, role, status, registered_at)
       SELECT ?, 'U' || lpad(n::text, 9, '0'), f || ' ' || l, lower(f || ' ' || l),
              lower(f) || '.' || lower(replace(l, '’', '')) || n || '@' || d,
              CASE WHEN n <= 3 THEN 'AccountAdmin' ELSE 'AccountUser' END, 'active', now() - (n || ' minutes')::interval
       FROM generate_series(?::int, ?::int) AS n,
            LATERAL (SELECT (?::text[])[1 + n % 50] AS f, (?::text[])[1 + (n / 50) % 50] AS l,
                            (?::text[])[1 + n % 3] AS d) AS names`,
        [accountId, from, Math.min(MEMBERS, from + SEED_CHUNK - 1), pgArray(FIRST), pgArray(LAST), pgArray(DOMAINS)],
      );
    }
    await knex('members').where({ slack_user_id: 'U000000001' }).update({ slack_user_id: ADMIN });
    await knex.raw('VACUUM ANALYZE members');
  } finally {
    await knex.destroy();
  }
}

/** The console's Search pressed with `text` in the box: answered with the narrowed console. */
function consoleSearch(text: string): Request {
  const payload = {
    type: 'view_submission',
    team: { id: TEAM_ID, domain: 'acme' },
    user: { id: ADMIN, team_id: TEAM_ID, username: 'admin' },
    api_app_id: 'A0BENCH',
    token: 'x',
    trigger_id: '1.2.3',
    view: {
      id: 'VBENCH',
      team_id: TEAM_ID,
      type: 'modal',
      callback_id: FORMS.console,
      hash: 'h',
      private_metadata: '{}',
      root_view_id: 'VBENCH',
      state: { values: { search: { console_search: { type: 'plain_text_input', value: text } } } },
    },
  };
  return signedRequest(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
}

/** One request; its status and body. `agent`: a run's own (a server closes sockets idle 5 s). */
function send(
  base: string,
  request: Request,
  agent = new http.Agent({ keepAlive: false }),
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(request.path, base);
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: request.method,
        headers: request.headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;

/**
 * A steady rate, whatever the answers' speed (open loop): each request's time from its send to
 * its last byte, in microseconds' resolution. Refuses figures made of error answers.
 */
async function paced(base: string, make: () => Request[], rate: number, seconds: number): Promise<Latency> {
  const requests = make();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  const samples: number[][] = requests.map(() => []);
  const pending: Array<Promise<void>> = [];
  const interval = 1000 / rate;
  const start = performance.now();
  let failed = 0;
  let why = '';
  for (let i = 0; ; i++) {
    const due = start + i * interval;
    if (due - start >= seconds * 1000) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const request = requests[i % requests.length] as Request;
    const sent = performance.now();
    pending.push(
      send(base, request, agent).then(
        ({ status, body }) => {
          const ms = performance.now() - sent;
          latencies.push(ms);
          samples[i % requests.length]?.push(ms);
          if (status !== 200) {
            failed++;
            why = `HTTP ${status} ${body.slice(0, 100)}`;
          }
        },
        (err: unknown) => {
          failed++;
          why = err instanceof Error ? err.message : String(err);
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  if (failed > 0) throw new Error(`${base}: ${failed} failed answers at a steady ${rate}/s (${why})`);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(sorted, 50), 2),
    p99_ms: round(percentile(sorted, 99), 2),
    rps: round(latencies.length / seconds, 0),
    samples,
  };
}

/** As many as 20 connections get answered (closed loop), as `npm run bench` measures. */
async function saturated(base: string, make: () => Request[], seconds: number): Promise<Latency> {
  const result = await autocannon({
    url: base,
    connections: SATURATED_CONNECTIONS,
    duration: seconds,
    requests: make(),
  });
  const errors = result.errors + result.timeouts;
  if (result.non2xx > 0 || errors > 0) throw new Error(`${result.non2xx} non-2xx answers and ${errors} errors`);
  return { p50_ms: result.latency.p50, p99_ms: result.latency.p99, rps: Math.round(result.requests.average) };
}

/** The answer to each request of a scenario must be what it should be, not an error page. */
async function check(base: string, requests: Request[], expect: (body: string) => boolean, name: string) {
  for (const request of requests) {
    const { status, body } = await send(base, request);
    if (status !== 200 || !expect(body)) throw new Error(`${name}: unexpected answer ${status} ${body.slice(0, 300)}`);
  }
}

export async function benchSearch(options: { write?: boolean } = {}): Promise<SearchFigures> {
  const standIn = await new SlackStandIn().start();
  standIn.addUser({ id: ADMIN });
  const db = await scratchDatabase('search');
  const children: ChildProcess[] = [];
  try {
    log(`seeding ${MEMBERS} members`);
    // The schema first: the bot migrates at start, but the rows go in before it runs.
    const migrate = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 1 } });
    const { migrateToLatest } = await import('../src/db/database.js');
    await migrateToLatest(migrate);
    await migrate.destroy();
    await seed(db.url);

    const bareUrl = await bareBolt(children);

    const { child: bot, url: botUrl } = await startBot(children, standIn, {
      DATABASE_URL: db.url,
      INITIAL_ADMINS: ADMIN,
    });
    const pid = bot.pid as number;

    const floorUrl = await bareBolt(children, { BASELINE_DATABASE_URL: db.url, BASELINE_SEARCH: '1' });

    const scenarios = {
      bare: { base: bareUrl, make: () => [slackRequest('help')] },
      list: { base: botUrl, make: () => SEARCHES.map((s) => slackRequest(`list ${s}`)) },
      console: { base: botUrl, make: () => SEARCHES.map((s) => consoleSearch(s)) },
      floor: { base: floorUrl, make: () => SEARCHES.map((s) => slackRequest(`list ${s}`)) },
    };
    await check(botUrl, scenarios.list.make(), (b) => b.includes('whose name or email contains'), 'list');
    await check(
      botUrl,
      scenarios.console.make(),
      (b) => b.includes('"response_action":"update"') && b.includes('whose name or email contains'),
      'console',
    );
    await check(floorUrl, scenarios.floor.make(), (b) => / found: /.test(b), 'floor');
    for (const [text, count] of COUNTED) {
      const { body } = await send(botUrl, slackRequest(`list ${text}`));
      if (!body.includes(`— ${count} in all`))
        throw new Error(`list ${text}: expected ${count}: ${body.slice(0, 300)}`);
      const floorAnswer = (await send(floorUrl, slackRequest(`list ${text}`))).body;
      if (!floorAnswer.includes(`${count} found:`))
        throw new Error(`floor, list ${text}: expected ${count}: ${floorAnswer.slice(0, 300)}`);
    }

    // Memory: idle (after a few answers), then after exporting everyone.
    for (const s of TARGETED) await paced(scenarios[s].base, scenarios[s].make, 50, 1);
    const rssIdle = await steadyRssMb(pid);
    log(`resident memory idle: ${rssIdle} MB; exporting ${MEMBERS} members`);
    const driver = new SlackDriver(botUrl, () => standIn.responseUrl(), SIGNING_SECRET);
    const exportStart = performance.now();
    let peak = rssIdle;
    const asked = await driver.command(ADMIN, 'export members');
    if (asked.status !== 200) throw new Error(`export: HTTP ${asked.status}`);
    const answer = await waitUntil('the export’s answer', 120_000, () => {
      peak = Math.max(peak, rssMb(pid));
      return standIn.responseUrlPosts.find((p) => String(p.body.text ?? '').includes('Exported'))?.body;
    });
    const exportS = round((performance.now() - exportStart) / 1000, 2);
    const file = standIn.files.find((f) => f.filename.startsWith('chatbees-members-'));
    const lines = file ? file.content.split('\r\n').length - 2 : 0;
    if (lines !== MEMBERS)
      throw new Error(`export: ${lines} rows in the file, expected ${MEMBERS}: ${String(answer.text)}`);
    const exportBytes = Buffer.byteLength(file?.content ?? '');
    const rssAfter = await steadyRssMb(pid);
    log(
      `export: ${exportS} s, ${(exportBytes / 1e6).toFixed(1)} MB; resident memory after ${rssAfter} MB (peak ${round(peak, 1)})`,
    );

    // Search latency: rounds interleaved, bare first in each.
    const pacedFigures: SearchFigures['paced'] = {};
    const saturatedFigures: SearchFigures['saturated'] = {};
    const pacedRatios: Record<string, number[]> = {};
    const p50s: Record<string, number[]> = {};
    const byText: Record<string, number[][]> = {};
    for (const s of PACED) {
      pacedFigures[s] = { bare_p99_ms: [], p99_ms: [], p99_ratio: 0, p50_ms: 0 };
      pacedRatios[s] = [];
      p50s[s] = [];
      byText[s] = SEARCHES.map(() => []);
    }
    for (const s of TARGETED)
      saturatedFigures[s] = { bare_rps: [], rps: [], rps_ratio: 0, bare_p99_ms: [], p99_ms: [], p99_ratio: 0 };
    log(`warming up ${WARMUP_S} s each`);
    for (const s of ['bare', ...PACED] as const)
      await paced(scenarios[s].base, scenarios[s].make, PACED_RATE, WARMUP_S);
    for (let round_ = 1; round_ <= ROUNDS; round_++) {
      for (const s of PACED) {
        const bareRun = await paced(bareUrl, scenarios.bare.make, PACED_RATE, ROUND_S);
        const run = await paced(scenarios[s].base, scenarios[s].make, PACED_RATE, ROUND_S);
        pacedFigures[s]?.bare_p99_ms.push(bareRun.p99_ms);
        pacedFigures[s]?.p99_ms.push(run.p99_ms);
        pacedRatios[s]?.push(run.p99_ms / bareRun.p99_ms);
        p50s[s]?.push(run.p50_ms);
        for (const [i, times] of (run.samples ?? []).entries()) byText[s]?.[i]?.push(...times);
        log(
          `paced round ${round_} ${s}: p99 ${run.p99_ms} ms vs bare ${bareRun.p99_ms} ms (${(run.p99_ms / bareRun.p99_ms).toFixed(2)}×)`,
        );
      }
    }
    const satRatios: Record<string, { rps: number[]; p99: number[] }> = {};
    for (const s of TARGETED) satRatios[s] = { rps: [], p99: [] };
    for (let round_ = 1; round_ <= ROUNDS; round_++) {
      for (const s of TARGETED) {
        const bareRun = await saturated(bareUrl, scenarios.bare.make, ROUND_S);
        const run = await saturated(botUrl, scenarios[s].make, ROUND_S);
        const f = saturatedFigures[s];
        f?.bare_rps.push(bareRun.rps);
        f?.rps.push(run.rps);
        f?.bare_p99_ms.push(bareRun.p99_ms);
        f?.p99_ms.push(run.p99_ms);
        satRatios[s]?.rps.push(run.rps / bareRun.rps);
        satRatios[s]?.p99.push(run.p99_ms / Math.max(1, bareRun.p99_ms));
        log(
          `saturated round ${round_} ${s}: ${run.rps} req/s vs bare ${bareRun.rps} (${(run.rps / bareRun.rps).toFixed(2)}×), p99 ${run.p99_ms} vs ${bareRun.p99_ms} ms`,
        );
      }
    }
    for (const s of PACED) {
      const p = pacedFigures[s];
      if (p) {
        p.p99_ratio = round(median(pacedRatios[s] ?? []));
        p.p50_ms = round(median(p50s[s] ?? []), 2);
        p.by_text = Object.fromEntries(
          SEARCHES.map((text, i) => {
            const times = (byText[s]?.[i] ?? []).sort((x, y) => x - y);
            return [text, { p50_ms: round(percentile(times, 50), 2), p99_ms: round(percentile(times, 99), 2) }];
          }),
        );
        log(`${s} by text (p50 / p99 ms):`, JSON.stringify(p.by_text));
      }
      const f = saturatedFigures[s];
      if (f) {
        f.rps_ratio = round(median(satRatios[s]?.rps ?? []));
        f.p99_ratio = round(median(satRatios[s]?.p99 ?? []));
      }
    }
    const rssRatio = round(rssAfter / rssIdle);
    const figures: SearchFigures = {
      members: MEMBERS,
      paced_rate: PACED_RATE,
      rounds: ROUNDS,
      round_s: ROUND_S,
      paced: pacedFigures,
      saturated: saturatedFigures,
      export_s: exportS,
      export_bytes: exportBytes,
      rss_idle_mb: rssIdle,
      rss_after_mb: rssAfter,
      rss_peak_mb: round(peak, 1),
      rss_ratio: rssRatio,
      targets_met:
        TARGETED.every((s) => (pacedFigures[s]?.p99_ratio ?? Infinity) <= TARGETS.paced_p99_ratio) &&
        rssRatio <= TARGETS.rss_ratio,
    };
    if (options.write !== false) writeResults(figures);
    printTable(figures);
    return figures;
  } finally {
    for (const child of children) await stop(child).catch(() => {});
    await standIn.stop();
    await db.drop();
  }
}

/** Merged into bench/results.json under `member_search`, the other keys kept. */
function writeResults(figures: SearchFigures): void {
  const file = path.join(ROOT, 'bench', 'results.json');
  const results = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  results.member_search = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    searches: SEARCHES,
    targets: TARGETS,
    ...figures,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

function printTable(f: SearchFigures): void {
  const mark = (ratio: number, target: number) => `${ratio.toFixed(2)} ${ratio <= target ? '✓' : '✗'} (≤ ${target})`;
  console.log(
    `\nmember search · ${f.members} members · ${f.rounds} interleaved rounds of ${f.round_s} s · median ratios\n`,
  );
  console.log(
    `| scenario | p99 vs bare Bolt at a steady ${f.paced_rate}/s | p50 ms | req/s vs bare Bolt at 20 connections | p99 vs bare Bolt there |`,
  );
  console.log('|---|---|---|---|---|');
  for (const s of TARGETED) {
    const p = f.paced[s];
    const q = f.saturated[s];
    if (!p || !q) continue;
    console.log(
      `| ${s === 'list' ? '`list <text>`' : 'console Search'} | ${mark(p.p99_ratio, TARGETS.paced_p99_ratio)} | ${p.p50_ms} | ${q.rps_ratio.toFixed(2)} | ${q.p99_ratio.toFixed(2)} |`,
    );
  }
  const floor = f.paced.floor;
  if (floor)
    console.log(
      `| floor: bare Bolt + the search, a line | ${floor.p99_ratio.toFixed(2)} (no target) | ${floor.p50_ms} | – | – |`,
    );
  console.log(
    `\nexport members: ${f.export_s} s, ${(f.export_bytes / 1e6).toFixed(1)} MB; resident memory ${f.rss_idle_mb} MB idle → ${f.rss_after_mb} MB after (peak ${f.rss_peak_mb}): ${mark(f.rss_ratio, TARGETS.rss_ratio)}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchSearch().catch((err: unknown) => {
    console.error('[bench] search failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
