// `npm run bench:bulk` (and the last part of `npm run bench`): a channel of 2,000 people invited
// against a Web API stand-in that limits chat.postMessage to N calls a second (429 with
// Retry-After past that). Not a test: it measures and reports, as ratios:
//   - the whole invitation (Invite pressed → the last DM landed) against the least time the
//     limit allows (2,000 / N seconds): target ≤ 1.25;
//   - `help` p99 while it runs against idle: target ≤ 2;
//   - the bot's resident memory after it against idle: target ≤ 1.5.
// It fails loudly unless each person got exactly one DM.
//
//   DATABASE_URL=postgres://… npm run bench:bulk   a database it may empty and fill
//   npm run bench:bulk                             makes and drops a database on 127.0.0.1:5432
//   BENCH_PROFILE=<dir>                            a CPU profile of the bot, written when it stops
//   BENCH_BULK_LOG=<file>                          keep the bot's log (pino JSON lines) there
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import knexFactory, { type Knex } from 'knex';
import { migrateToLatest } from '../src/db/database.js';
import { BUTTONS } from '../src/slack/operations.js';
import { SlackDriver } from '../test/support/slack-requests.js';
import { SlackStandIn } from '../test/support/slack-stand-in.js';
import {
  ADMIN,
  botEnv,
  freePort,
  log,
  median,
  type Request,
  ROOT,
  SIGNING_SECRET,
  slackRequest,
  stop,
  waitHealthy,
} from './run.js';

/** People in the channel, all of them to invite. */
const PEOPLE = 2_000;
/** chat.postMessage calls a second the stand-in lets through. */
const LIMIT_PER_S = 50;
const CHANNEL = 'CBENCH';
/** `help` under autocannon: connections, a warm-up (idle only, not counted) and the measured run. */
const HELP_CONNECTIONS = 10;
const HELP_WARMUP_S = 2;
const HELP_DURATION_S = 5;
/** The `help` load during the invitation starts this long after Invite is pressed (past the ramp). */
const HELP_DURING_AFTER_S = 5;
/** Resident memory: the median of this many readings, a second apart. */
const RSS_READINGS = 5;
const SETTLE_S = 5;
const TARGETS = { invitation_ratio: 1.25, help_p99_ratio: 2, rss_ratio: 1.5 } as const;

export interface BulkInvitationFigures {
  people: number;
  limit_per_s: number;
  invitation_s: number;
  least_s: number;
  invitation_ratio: number;
  help_p99_idle_ms: number;
  help_p99_during_ms: number;
  help_p99_ratio: number;
  /** `help` p99 once more when it is over (not a target): how much the machine's own noise moves it. */
  help_p99_idle_after_ms: number;
  help_rps_idle: number;
  help_rps_during: number;
  rss_idle_mb: number;
  rss_after_mb: number;
  rss_ratio: number;
  rate_limited: number;
  /** chat.postMessage calls to the invitees, answered or not. */
  dm_attempts: number;
  /** Invite pressed → the first DM landed (the job picked up, the first invite made). */
  first_dm_s: number;
  /** Invite pressed → the counts message answered (the press's own work). */
  press_ack_ms: number;
  /** `/chatbees-users invite #channel` → the counts on the response_url. */
  counting_s: number;
  /** The bot's CPU time from the press to the last DM, over that time (1: one core busy throughout). */
  bot_cpu_share: number;
  /** The machine's 1-minute load average when Invite was pressed and when the last DM landed. */
  load_at_press: number;
  load_at_end: number;
  /** 429s that reached the job's pacer (the Web API client waits out up to 2 in a row itself). */
  /** The pacer's rate (calls a second) the job logged at the end of its last part. */
  pacer_rate_at_end: number | null;
  /** Parts the job ran in (a part lasts up to 60 s). */
  parts: number;
  /** DMs that landed in each second after the press ("0 4 19 …": one line in results.json). */
  dms_per_s: string;
  /** 429s answered in each second after the press. */
  limited_per_s: string;
  targets_met: boolean;
}

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The bot's resident memory, in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** The median of RSS_READINGS readings a second apart (no `global.gc` to call from outside). */
export async function steadyRssMb(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < RSS_READINGS; i++) {
    if (i > 0) await sleep(1_000);
    readings.push(rssMb(pid));
  }
  return round(median(readings), 1);
}

/** `help` under autocannon; refuses figures made of error answers. */
async function helpLoad(url: string, request: Request, seconds: number): Promise<{ rps: number; p99_ms: number }> {
  const result = await autocannon({ url, connections: HELP_CONNECTIONS, duration: seconds, requests: [request] });
  const errors = result.errors + result.timeouts;
  if (result.non2xx > 0 || errors > 0) {
    throw new Error(`help: ${result.non2xx} non-2xx answers and ${errors} errors under load`);
  }
  return { rps: Math.round(result.requests.average), p99_ms: result.latency.p99 };
}

/** CPU time the process has used (user + system), in seconds (Linux counts in 1/100 s ticks). */
function cpuSeconds(pid: number): number {
  // After the command's closing parenthesis: state, then 10 fields, then utime and stime.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A Slack message ts ("1733000000.000123") in milliseconds. */
function tsMs(ts: string): number {
  const [seconds, micros = '0'] = ts.split('.');
  return Number(seconds) * 1000 + Number(micros.padEnd(6, '0')) / 1000;
}

/** How many of `times` (ms) fall in each second from `from`. */
function perSecond(times: number[], from: number): number[] {
  const counts: number[] = [];
  for (const t of times) {
    const second = Math.max(0, Math.floor((t - from) / 1000));
    while (counts.length <= second) counts.push(0);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return counts;
}

export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | Promise<T | undefined>,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The Invite button's value (the bulk id) in a response_url post, if it carries one. */
function inviteButtonValue(body: Record<string, unknown>): string | undefined {
  const blocks = (body.blocks ?? []) as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>;
  return blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === BUTTONS.bulkInvite)?.value;
}

/** A database of its own: made (and dropped by `drop`) unless DATABASE_URL names one to empty. */
export async function scratchDatabase(name = 'bulk'): Promise<{ url: string; drop: () => Promise<void> }> {
  const given = process.env.DATABASE_URL;
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const empty = async (url: string) => {
    const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      await migrateToLatest(knex);
      await knex.raw(
        'TRUNCATE accounts, members, invites, audit_log, slack_request_claims, bulk_invitations, bulk_invitees, invitation_dms RESTART IDENTITY CASCADE',
      );
    } finally {
      await knex.destroy();
    }
  };
  if (given) {
    await empty(given);
    return { url: given, drop: () => empty(given) };
  }
  const scratch = `chatbees_users_bench_${name}_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE "${scratch}"`);
  const u = new URL(server);
  u.pathname = `/${scratch}`;
  return {
    url: u.toString(),
    drop: async () => {
      try {
        await admin.raw(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`);
      } finally {
        await admin.destroy();
      }
    },
  };
}

function bulkStatus(knex: Knex, bulkId: number): Promise<string | undefined> {
  return knex('bulk_invitations')
    .where({ id: bulkId })
    .first('status')
    .then((row: { status: string } | undefined) => row?.status);
}

export async function benchBulkInvitation(options: { write?: boolean } = {}): Promise<BulkInvitationFigures> {
  const people = Array.from({ length: PEOPLE }, (_, i) => `UBULK${String(i + 1).padStart(5, '0')}`);
  const standIn = await new SlackStandIn().start();
  standIn.addUser({ id: ADMIN });
  for (const id of people) standIn.addUser({ id });
  standIn.addChannel({ id: CHANNEL, name: 'bench', members: people });
  standIn.limitRate('chat.postMessage', LIMIT_PER_S);

  const db = await scratchDatabase();
  const knex = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 1 } });
  let bot: ChildProcess | undefined;
  let logFd: number | undefined;
  const logDir = process.env.BENCH_BULK_LOG ? undefined : mkdtempSync(path.join(tmpdir(), 'chatbees-users-bulk-'));
  const logFile = process.env.BENCH_BULK_LOG ?? path.join(logDir as string, 'bot.log');
  try {
    const port = await freePort();
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    logFd = openSync(logFile, 'w');
    bot = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/index.ts'], {
      cwd: ROOT,
      env: botEnv({ DATABASE_URL: db.url, INITIAL_ADMINS: ADMIN }, standIn, port),
      stdio: ['ignore', logFd, logFd],
    });
    const pid = bot.pid as number;
    const botUrl = `http://127.0.0.1:${port}`;
    await waitHealthy(`${botUrl}/healthz`, bot);
    const driver = new SlackDriver(botUrl, () => standIn.responseUrl(), SIGNING_SECRET);

    // Idle: `help` p99, then resident memory.
    const help = slackRequest('help');
    const sample = await fetch(`${botUrl}${help.path}`, {
      method: help.method,
      headers: help.headers,
      body: help.body,
    });
    const sampleText = await sample.text();
    if (sample.status !== 200 || !sampleText.includes('ChatBees user admin'))
      throw new Error(`help: unexpected answer ${sample.status} ${sampleText.slice(0, 200)}`);
    await helpLoad(botUrl, help, HELP_WARMUP_S);
    const idle = await helpLoad(botUrl, help, HELP_DURATION_S);
    log(`help idle: ${idle.rps} req/s, p99 ${idle.p99_ms} ms`);
    const rssIdle = await steadyRssMb(pid);
    log(`resident memory idle: ${rssIdle} MB`);

    // The counts, through the command's response_url.
    log(`inviting #bench: ${PEOPLE} people, chat.postMessage limited to ${LIMIT_PER_S}/s`);
    const counted = Date.now();
    const asked = await driver.command(ADMIN, `invite <#${CHANNEL}|bench>`);
    if (asked.status !== 200) throw new Error(`invite: HTTP ${asked.status} ${asked.text.slice(0, 200)}`);
    const bulkId = await waitUntil('the counts on the response_url', 60_000, () => {
      for (const post of standIn.responseUrlPosts) {
        const value = inviteButtonValue(post.body);
        if (value) return value;
      }
      const said = standIn.responseUrlPosts.at(-1)?.body.text;
      if (typeof said === 'string' && !said.startsWith('Counting')) throw new Error(`invite answered: ${said}`);
      return undefined;
    });
    const countingS = (Date.now() - counted) / 1000;
    log(`counted in ${countingS.toFixed(2)} s; bulk ${bulkId}`);

    // Invite pressed: time until the last DM landed; `help` measured meanwhile.
    const dmChannels = people.map((id) => `D${id.slice(1)}`);
    const callsBefore = standIn.calls.length;
    const loadAtPress = loadavg()[0] ?? 0;
    const cpuAtPress = cpuSeconds(pid);
    const pressedAt = Date.now();
    const pressed = await driver.blockAction(ADMIN, { action_id: BUTTONS.bulkInvite, value: bulkId });
    const pressAckMs = Date.now() - pressedAt;
    if (pressed.status !== 200) throw new Error(`Invite: HTTP ${pressed.status} ${pressed.text.slice(0, 200)}`);
    const leastS = PEOPLE / LIMIT_PER_S;
    const deadlineMs = (leastS * 10 + 60) * 1000;
    const during = (async () => {
      await sleep(HELP_DURING_AFTER_S * 1000);
      return helpLoad(botUrl, help, HELP_DURATION_S);
    })();
    let landed = 0;
    // The stand-in does not time its answers: its 429 count is sampled as this waits.
    const limitedTimes: number[] = [];
    let limitedSeen = standIn.rateLimited('chat.postMessage');
    await waitUntil(`${PEOPLE} DMs`, deadlineMs, async () => {
      const limitedNow = standIn.rateLimited('chat.postMessage');
      for (; limitedSeen < limitedNow; limitedSeen++) limitedTimes.push(Date.now());
      // Read before counting: an invitation over (done or not) sent all it would before it ended.
      const status = await bulkStatus(knex, Number(bulkId));
      landed = dmChannels.filter((d) => standIn.postsIn(d).length > 0).length;
      if (landed === PEOPLE) return true;
      // 'counted' until the press's work (after its ack) has started it: a few seconds at most.
      if (status === 'counted' && Date.now() - pressedAt > 15_000) throw new Error('Invite did not start it');
      if (status && status !== 'counted' && status !== 'running')
        throw new Error(`the invitation ended ${status} with ${landed} DMs landed`);
      return undefined;
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (${landed} of ${PEOPLE} landed)`);
    });
    const cpuAtEnd = cpuSeconds(pid);
    const loadAtEnd = loadavg()[0] ?? 0;
    const dmTimes = dmChannels.flatMap((d) => standIn.postsIn(d).map((p) => tsMs(p.ts)));
    const lastDm = Math.max(...dmTimes);
    const firstDm = Math.min(...dmTimes);
    const invitationS = (lastDm - pressedAt) / 1000;
    log(`all ${PEOPLE} DMs landed ${invitationS.toFixed(2)} s after Invite was pressed`);
    const duringFigures = await during;
    log(`help during: ${duringFigures.rps} req/s, p99 ${duringFigures.p99_ms} ms`);
    await waitUntil('the invitation marked done', 30_000, async () =>
      (await bulkStatus(knex, Number(bulkId))) === 'done' ? true : undefined,
    );

    // Settled: resident memory; and nobody DMed twice, also late.
    await sleep(SETTLE_S * 1000);
    const rssAfter = await steadyRssMb(pid);
    log(`resident memory after: ${rssAfter} MB`);
    const idleAfter = await helpLoad(botUrl, help, HELP_DURATION_S);
    log(`help idle again: ${idleAfter.rps} req/s, p99 ${idleAfter.p99_ms} ms`);
    const counts = dmChannels.map((d) => standIn.postsIn(d).length);
    const twice = counts.filter((n) => n > 1).length;
    const none = counts.filter((n) => n === 0).length;
    if (twice > 0 || none > 0) throw new Error(`${twice} people got more than one DM and ${none} none`);
    const after = standIn.calls.slice(callsBefore);
    const invitees = new Set(people);
    const dmCalls = after.filter((c) => c.method === 'chat.postMessage' && invitees.has(String(c.params.channel)));

    const parts = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"bulk invitation part"'))
      .map((line) => JSON.parse(line) as { rate?: number });

    const figures: BulkInvitationFigures = {
      people: PEOPLE,
      limit_per_s: LIMIT_PER_S,
      invitation_s: round(invitationS),
      least_s: leastS,
      invitation_ratio: round(invitationS / leastS),
      help_p99_idle_ms: idle.p99_ms,
      help_p99_during_ms: duringFigures.p99_ms,
      help_p99_ratio: round(duringFigures.p99_ms / Math.max(idle.p99_ms, 1)),
      help_p99_idle_after_ms: idleAfter.p99_ms,
      help_rps_idle: idle.rps,
      help_rps_during: duringFigures.rps,
      rss_idle_mb: rssIdle,
      rss_after_mb: rssAfter,
      rss_ratio: round(rssAfter / rssIdle),
      rate_limited: standIn.rateLimited('chat.postMessage'),
      dm_attempts: dmCalls.length,
      first_dm_s: round((firstDm - pressedAt) / 1000),
      press_ack_ms: pressAckMs,
      counting_s: round(countingS),
      bot_cpu_share: round((cpuAtEnd - cpuAtPress) / ((Date.now() - pressedAt) / 1000)),
      load_at_press: round(loadAtPress),
      load_at_end: round(loadAtEnd),
      pacer_rate_at_end: parts.at(-1)?.rate ?? null,
      parts: parts.length,
      dms_per_s: perSecond(dmTimes, pressedAt).join(' '),
      limited_per_s: perSecond(limitedTimes, pressedAt).join(' '),
      targets_met: false,
    };
    figures.targets_met =
      figures.invitation_ratio <= TARGETS.invitation_ratio &&
      figures.help_p99_ratio <= TARGETS.help_p99_ratio &&
      figures.rss_ratio <= TARGETS.rss_ratio;
    if (options.write !== false) writeResults(figures);
    printTable(figures);
    return figures;
  } finally {
    if (bot) await stop(bot).catch(() => {});
    if (logFd !== undefined) closeSync(logFd);
    if (logDir) rmSync(logDir, { recursive: true, force: true });
    await knex.destroy();
    await standIn.stop();
    await db.drop();
  }
}

/** Merged into bench/results.json under `bulk_invitation`, the other keys kept. */
function writeResults(figures: BulkInvitationFigures): void {
  const file = path.join(ROOT, 'bench', 'results.json');
  const results = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  results.bulk_invitation = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    connections: HELP_CONNECTIONS,
    duration_s: HELP_DURATION_S,
    targets: TARGETS,
    ...figures,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

function printTable(f: BulkInvitationFigures): void {
  const mark = (ratio: number, target: number) => `${ratio.toFixed(2)} ${ratio <= target ? '✓' : '✗'} (≤ ${target})`;
  const rows = [
    ['figure', 'idle / least', 'measured', 'ratio (target)'],
    [
      'invitation, s',
      f.least_s.toFixed(1),
      f.invitation_s.toFixed(2),
      mark(f.invitation_ratio, TARGETS.invitation_ratio),
    ],
    [
      'help p99, ms',
      String(f.help_p99_idle_ms),
      String(f.help_p99_during_ms),
      mark(f.help_p99_ratio, TARGETS.help_p99_ratio),
    ],
    ['resident memory, MB', f.rss_idle_mb.toFixed(1), f.rss_after_mb.toFixed(1), mark(f.rss_ratio, TARGETS.rss_ratio)],
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\nbulk invitation · ${f.people} people · chat.postMessage limited to ${f.limit_per_s}/s · help: ${HELP_CONNECTIONS} connections, ${HELP_DURATION_S} s\n`,
  );
  console.log(line(rows[0] as string[]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(
    `\n429s: ${f.rate_limited} · DM attempts: ${f.dm_attempts} · each person exactly one DM · counted in ${f.counting_s} s · first DM ${f.first_dm_s} s after Invite`,
  );
  console.log(
    `help: ${f.help_rps_idle} req/s idle, ${f.help_rps_during} during; p99 ${f.help_p99_idle_after_ms} ms idle again after it (not a target)`,
  );
  console.log(`pacer: its rate at the end ${f.pacer_rate_at_end ?? '?'}/s (every 429 reaches it); ${f.parts} part(s)`);
  console.log(
    `bot CPU while inviting: ${f.bot_cpu_share} of a core · load average ${f.load_at_press} at Invite, ${f.load_at_end} at the end (${cpus().length} CPUs)`,
  );
  console.log(`DMs a second after Invite: ${f.dms_per_s}`);
  console.log(`429s a second after Invite: ${f.limited_per_s}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchBulkInvitation().catch((err: unknown) => {
    console.error('[bench] bulk invitation failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
