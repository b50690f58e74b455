// Three real bot processes on one PostgreSQL database behind a round-robin HTTP proxy (written
// here, as a load balancer in front of them would be), under a minute of mixed load paced at RATE
// requests a second: Slack's signed commands, console buttons, Accept presses, access-request
// decisions and a bulk invitation, and people's browsers on the registration pages, each request
// to the next process in turn, so one person's consecutive requests land on different processes.
//
// The load is paced, not a burst, and it backs off rather than pile up: at most MAX_IN_FLIGHT
// requests unanswered and SESSIONS people's pieces of work under way at once, so on a slow or
// busy machine fewer requests go out (the rate achieved is printed). An answer that says "not now"
// (temporarily unavailable, try again in a minute) ends that piece of work; such answers are
// counted and printed, never hidden, and nothing they stand for may have half-happened.
//
// Afterwards, from the database and the Slack stand-in: nothing lost, nothing done twice. Each
// invite stored was DMed once (those of the bulk invitation too); each Accept or confirmed page made
// one member and one audit entry; each access request was decided at most once (one entry, one DM
// to the asker, each copy changed once, the admin who lost told who won); each role change and
// removal an admin was told of has its audit entry, and there is no other; two admins demoting each
// other at the same instant never both win, nor is either told of the last-admin rule while others
// are admins; at the end, five admins stepping down at once leave exactly one. No process exits.
// With TEST_POOLER_URL (the pooler pass) the three reach PostgreSQL through PgBouncer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUTTONS, FORMS } from '../../src/slack/operations.js';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { openPostgresTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { type PageAnswer, PageSession, pathOf } from '../support/page-session.js';
import { SIGNING_SECRET, SlackDriver, type SlackResponse, triggerId } from '../support/slack-requests.js';
import {
  BOT_TOKEN,
  type Call,
  linkButtonUrl,
  type ResponseUrlPost,
  SlackStandIn,
  TEAM_ID,
  waitFor,
} from '../support/slack-stand-in.js';

/** How long the load lasts, and its pace: requests a second, every kind together. */
const DURATION_MS = 60_000;
const RATE = 50;
/** Requests sent and not yet answered, at most: past it the load waits rather than piles up. */
const MAX_IN_FLIGHT = 16;
/** People's pieces of work under way at once, of each kind (each waits its turn in its own line). */
const SESSIONS = { invitation: 8, request: 2, bulkInvitee: 3 };
/** No new piece of work starts after this: what started is done by the end of the minute. */
const LAST_START_MS = DURATION_MS - 12_000;
/** How long any one outcome (a DM, an answer, a view) may take to show up under the load. */
const OUTCOME_MS = 30_000;
/** Past the minute, how long the work under way may take to finish before the test gives up. */
const DRAIN_MS = 40_000;
/** No call to Slack for this long: everything the load set off has happened. */
const QUIET_MS = 2_000;

const PUBLIC_URL = 'https://bees.example.test';
/** Slack's redelivery of a request it thinks went unanswered: the same body, these headers. */
const RETRY = { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' };
/** What the app says when it cannot do something now (the database or Slack too slow). */
const NOT_NOW = [
  /temporarily unavailable/i,
  /could not be stored just now/,
  /could not be looked up in Slack right now/,
  /Slack did not answer in time/,
  /could not DM them/,
];
const notNow = (text: string) => NOT_NOW.some((re) => re.test(text));
/** Bolt's answer to a request its listener did not ack within 3 s. */
const lateAck = (answer: { status: number; text: string }) => answer.status === 404 && answer.text === '';
/** An error logged because the database could not keep up (a pool or statement timeout). */
const LOAD_ERROR = /KnexTimeoutError|Timeout acquiring a connection|statement timeout|Query read timeout/;

const pad = (n: number, width: number) => String(n).padStart(width, '0');
/** AccountAdmins who invite, decide requests, promote and remove: never demoted during the load. */
const INVITERS = ['UADMIN1', 'UADMIN2', 'UADMIN3'] as const;
/** Two AccountAdmins who demote each other, round after round. */
const RACERS = ['URACEX', 'URACEY'] as const;
const ADMINS: string[] = [...INVITERS, ...RACERS];
/** People invited by name, in turn by each inviter (90 each at most, under the 200 a day an admin may). */
const INVITEES = Array.from({ length: 270 }, (_, i) => `UINV${pad(i, 4)}`);
/** People who ask for access. */
const ASKERS = Array.from({ length: 48 }, (_, i) => `UASK${pad(i, 3)}`);
/** The channel invited all at once, and its people. */
const BULK_CHANNEL = 'CBULKLOAD';
const BULK = Array.from({ length: 200 }, (_, i) => `UBLK${pad(i, 4)}`);
/** The bulk invitation starts this far into the load (its DMs go out while the rest goes on). */
const BULK_AT_MS = 8_000;
const RACES_FROM_MS = 2_000;
const REMOVALS_FROM_MS = 15_000;

type JoinMode = 'accept' | 'page' | 'none';

/** One person invited (by name or with the channel), how they answer, and how it went. */
interface Invitation {
  user: string;
  inviter: string;
  bulk: boolean;
  mode: JoinMode;
  /** The admin was told the DM went out; or that it could not be done now. */
  sent: boolean;
  notNow?: boolean;
  /** The admin was told it was not stored: then nothing may have been. */
  notStored?: boolean;
  /** Their Accept or confirmation was answered "not now": then it may not have been done. */
  joinNotNow?: boolean;
  /** Their Accept was delivered twice; their DM, as `channel@ts`. */
  pressedTwice?: boolean;
  dmAt?: string;
  inviteId?: string;
  /** Their registration was seen done (the DM said so, or the page). */
  joined: boolean;
}

/** One access request and the two admins who decide it at the same instant. */
interface AccessCase {
  asker: string;
  requestId: string;
  /** a presses Approve; b presses Approve too ('approve'), or sends Deny's form ('deny'). */
  a: string;
  b: string;
  kind: 'approve' | 'deny';
  urlA: string;
  urlB?: string;
  formViewId?: string;
  redelivered: boolean;
}

/** A role button pressed, and what the console said after. */
interface RolePress {
  by: string;
  target: string;
  role: 'AccountAdmin' | 'AccountUser';
  answer: string;
  race?: number;
}

interface Removal {
  by: string;
  target: string;
  answer: string;
}

/** A console as Slack shows it after views.open: what a press in it carries. */
interface Shown {
  id: string;
  hash: string;
  privateMetadata: string;
}

interface Sent {
  kind: string;
  status: number;
  ms: number;
  text: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The user a DM was addressed to (their U… id, or their D… channel). */
const userOfDm = (channel: string) => (channel.startsWith('D') ? `U${channel.slice(1)}` : channel);

/** The invite id an invitation DM carries in its metadata, as Slack kept it. */
function inviteIdOf(call: Call): string | undefined {
  const message = call.response?.message as
    | { metadata?: { event_type?: string; event_payload?: { invite_id?: string } } }
    | undefined;
  return message?.metadata?.event_type === 'chatbees_invitation'
    ? message.metadata.event_payload?.invite_id
    : undefined;
}

function buttonsIn(blocks: unknown): Array<{ action_id?: string; value?: string }> {
  const list = (typeof blocks === 'string' ? JSON.parse(blocks) : blocks) as
    | Array<{ elements?: Array<{ action_id?: string; value?: string }> }>
    | undefined;
  return (list ?? []).flatMap((b) => b.elements ?? []);
}

const idOfUrl = (responseUrl: string) => responseUrl.split('/').pop() as string;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/** CPU seconds a process has used (Linux), 0 when it cannot be read. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * A load balancer in front of the bots: each request, whole, to the next one in turn, and its
 * answer back (status, headers, body). It adds the address it saw to X-Forwarded-For, as one does.
 * A request with an `x-load-tag` header is remembered with the process it went to.
 */
class RoundRobinProxy {
  private server: Server | undefined;
  /** A connection per request: a kept-alive one the bot closes as it is reused would fail a request. */
  private readonly agent = new Agent({ keepAlive: false, maxSockets: 64 });
  private next = 0;
  /** Requests sent to each process. */
  readonly served: number[];
  readonly byTag = new Map<string, number>();
  readonly failures: string[] = [];
  url = '';

  constructor(private readonly backends: string[]) {
    this.served = backends.map(() => 0);
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const i = this.next++ % this.backends.length;
        this.served[i] = (this.served[i] ?? 0) + 1;
        const target = new URL(this.backends[i] as string);
        const tag = req.headers['x-load-tag'];
        if (typeof tag === 'string') this.byTag.set(tag, i);
        const body = Buffer.concat(chunks);
        const headers: IncomingHttpHeaders = { ...req.headers };
        for (const name of ['x-load-tag', 'connection', 'keep-alive', 'transfer-encoding']) delete headers[name];
        headers.host = target.host;
        headers['content-length'] = String(body.length);
        const from = req.socket.remoteAddress ?? 'unknown';
        const forwarded = headers['x-forwarded-for'];
        headers['x-forwarded-for'] = forwarded ? `${forwarded}, ${from}` : from;
        const upstream = httpRequest(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: this.agent },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => parts.push(chunk));
            answer.on('end', () => {
              const out = Buffer.concat(parts);
              const back: OutgoingHttpHeaders = { ...answer.headers };
              for (const name of ['connection', 'keep-alive', 'transfer-encoding']) delete back[name];
              back['content-length'] = String(out.length);
              res.writeHead(answer.statusCode ?? 502, back);
              res.end(out);
            });
          },
        );
        upstream.on('error', (err) => {
          this.failures.push(`${req.method} ${req.url} to process ${i}: ${err.message}`);
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * The pace: work is queued and sent when the rate allows (a piece sending n requests at once takes
 * n places) and fewer than MAX_IN_FLIGHT requests are unanswered; time lost waiting is not made up
 * with a burst. When nothing is queued during the minute, a read command keeps the pace.
 */
class Load {
  readonly sent: Sent[] = [];
  private readonly queue: Array<{ weight: number; run: () => Promise<unknown> }> = [];
  private readonly fillers = new Set<Promise<unknown>>();
  private running = false;
  private inFlight = 0;
  /** Places the pace has given out. */
  private paced = 0;
  /** Requests sent, and those within the minute. */
  dispatched = 0;
  inMinute = 0;
  startedAt = 0;
  lastAt = 0;

  constructor(
    private readonly rate: number,
    private readonly maxInFlight: number,
  ) {}

  /** `work` (sending `weight` requests at once), when the pace allows; resolves with its result. */
  send<T>(weight: number, work: () => Promise<T>): Promise<T> {
    // Outside the minute, at once.
    if (!this.running) return work();
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        weight,
        run: () => {
          const done = work();
          done.then(resolve, reject);
          return done;
        },
      });
    });
  }

  /** One request, timed, with what it answered kept. */
  async timed<T extends { status: number }>(kind: string, request: () => Promise<T>, textOf: (t: T) => string) {
    const started = Date.now();
    const answer = await request();
    this.sent.push({ kind, status: answer.status, ms: Date.now() - started, text: textOf(answer) });
    return answer;
  }

  private launch(weight: number, run: () => Promise<unknown>): void {
    this.inFlight += weight;
    this.dispatched += weight;
    this.paced += weight;
    this.lastAt = Date.now();
    void run()
      .catch(() => undefined)
      .finally(() => {
        this.inFlight -= weight;
      });
  }

  async run(options: {
    durationMs: number;
    filler: () => Promise<unknown>;
    tick: (elapsedMs: number) => void;
    busy: () => boolean;
    giveUpMs: number;
  }): Promise<void> {
    this.startedAt = Date.now();
    this.running = true;
    try {
      for (;;) {
        const elapsed = Date.now() - this.startedAt;
        options.tick(elapsed);
        const due = Math.floor((elapsed * this.rate) / 1000);
        // Places not used while waiting are lost (no more than a fifth of a second's worth kept).
        this.paced = Math.max(this.paced, due - Math.ceil(this.rate / 5));
        while (this.paced < due && this.inFlight < this.maxInFlight) {
          const next = this.queue.shift();
          if (next) this.launch(next.weight, next.run);
          else if (elapsed < options.durationMs) {
            const filler = options.filler();
            this.fillers.add(filler);
            void filler.finally(() => this.fillers.delete(filler));
            this.launch(1, () => filler);
          } else break;
          if (elapsed < options.durationMs) this.inMinute = this.dispatched;
        }
        if (elapsed >= options.durationMs && this.queue.length === 0 && !options.busy()) break;
        if (elapsed >= options.giveUpMs) throw new Error(`the load's work was not done ${options.giveUpMs} ms in`);
        await sleep(5);
      }
    } finally {
      this.running = false;
    }
    await Promise.allSettled([...this.fillers]);
  }
}

/** At most `size` at once; the others wait their turn. */
class Gate {
  private readonly waiting: Array<() => void> = [];
  constructor(private free: number) {}

  async enter(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** What the stand-in saw, indexed as it comes (its own look-ups scan every call each time). */
class Seen {
  private calls = 0;
  private posts = 0;
  /** Invitation DMs (they carry their invite's id), by the person. */
  readonly invitationDms = new Map<string, Call[]>();
  /** Every chat.postMessage, by the person whose DM it went to. */
  readonly dms = new Map<string, Call[]>();
  /** A copy of an access request, by `admin|asker`. */
  readonly copies = new Map<string, Call>();
  /** chat.update of the copies of an asker's request, by the asker. */
  readonly requestUpdates = new Map<string, Call[]>();
  /** chat.update by `channel@ts`. */
  readonly messageUpdates = new Map<string, Call[]>();
  /** views.open by trigger_id; views.update by view id. */
  readonly opened = new Map<string, Call>();
  readonly updated = new Map<string, Call[]>();
  readonly answers = new Map<string, ResponseUrlPost[]>();

  constructor(private readonly standIn: SlackStandIn) {}

  sync(): this {
    const { calls, responseUrlPosts } = this.standIn;
    for (; this.calls < calls.length; this.calls++) {
      const call = calls[this.calls] as Call;
      const { params } = call;
      if (call.method === 'chat.postMessage') {
        const user = userOfDm(String(params.channel));
        push(this.dms, user, call);
        if (inviteIdOf(call)) push(this.invitationDms, user, call);
        const asker = /<@(U[A-Z0-9]+)> asks for access/.exec(String(params.text))?.[1];
        if (asker) this.copies.set(`${user}|${asker}`, call);
      } else if (call.method === 'chat.update') {
        push(this.messageUpdates, `${params.channel}@${params.ts}`, call);
        const asker = /<@(U[A-Z0-9]+)>'s access request/.exec(String(params.text))?.[1];
        if (asker) push(this.requestUpdates, asker, call);
      } else if (call.method === 'views.open') {
        this.opened.set(String(params.trigger_id), call);
      } else if (call.method === 'views.update') {
        push(this.updated, String(params.view_id), call);
      }
    }
    for (; this.posts < responseUrlPosts.length; this.posts++) {
      const post = responseUrlPosts[this.posts] as ResponseUrlPost;
      push(this.answers, post.id, post);
    }
    return this;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

describe.runIf(postgresUrl)('three processes, one PostgreSQL, a minute of mixed load', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let bots: BotProcess[] = [];
  let proxy: RoundRobinProxy;
  let slack: SlackDriver;
  let seen: Seen;
  const folders: string[] = [];

  beforeAll(async () => {
    db = await openPostgresTestDatabase();
    standIn = await new SlackStandIn().start();
    for (const id of [...ADMINS, ...INVITEES, ...ASKERS, ...BULK]) standIn.addUser({ id });
    standIn.addChannel({ id: BULK_CHANNEL, name: 'bulk-load', members: BULK });
    const env = {
      NODE_ENV: 'development',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: standIn.apiUrl,
      DATABASE_URL: db.url as string,
      PUBLIC_URL,
      INITIAL_ADMINS: ADMINS.join(','),
      // Browsers come through a CDN (X-Forwarded-For) and then the proxy: the page limits count
      // each person's address, not the proxy's.
      TRUST_PROXY: '2',
    };
    // Each in a folder of its own, as on three machines, sharing only the database.
    for (let i = 0; i < 3; i++) folders.push(mkdtempSync(path.join(tmpdir(), 'chatbees-users-mixed-load-')));
    bots = await Promise.all(
      folders.map((folder) => spawnBot({ ...env, PGLITE_DATA_DIR: path.join(folder, 'pglite') }, 60_000)),
    );
    proxy = await new RoundRobinProxy(bots.map((bot) => bot.url)).start();
    slack = new SlackDriver(proxy.url, () => standIn.responseUrl());
    seen = new Seen(standIn);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(bots.map((bot) => bot.stop()));
    await proxy?.stop();
    await standIn?.stop();
    await db?.close();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  const load = new Load(RATE, MAX_IN_FLIGHT);
  const gates = {
    invitation: new Gate(SESSIONS.invitation),
    request: new Gate(SESSIONS.request),
    bulkInvitee: new Gate(SESSIONS.bulkInvitee),
  };
  /** What went wrong inside a piece of work (an outcome that never came, an answer not as it should be). */
  const flowErrors: string[] = [];
  /** Answers that said "not now", by what was asked. */
  const notNowAnswers: Array<{ what: string; text: string }> = [];
  let activeFlows = 0;
  const underWay = new Set<string>();
  let skipped = 0;
  const invitations = new Map<string, Invitation>();
  const accessCases: AccessCase[] = [];
  const rolePresses: RolePress[] = [];
  const races: Array<{ round: number; split: boolean }> = [];
  const removals: Removal[] = [];
  /** People who joined by name, who may be removed. */
  const joinedPool: string[] = [];
  let bulkId: number | undefined;
  let bulkPressUrl = '';

  function flow(name: string, work: () => Promise<void>): void {
    activeFlows++;
    underWay.add(name);
    work()
      .catch((err: unknown) => {
        flowErrors.push(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      })
      .finally(() => {
        activeFlows--;
        underWay.delete(name);
      });
  }

  /** A person's piece of work: waits for its turn, and starts only within the minute. */
  function session(name: string, gate: Gate, work: () => Promise<void>): void {
    flow(name, async () => {
      await gate.enter();
      try {
        if (Date.now() - load.startedAt > LAST_START_MS) {
          skipped++;
          return;
        }
        await work();
      } finally {
        gate.leave();
      }
    });
  }

  /** An answer that says "not now": kept, and the piece of work ends there. */
  function saidNotNow(what: string, text: string): boolean {
    if (!notNow(text)) return false;
    // A page by its title; anything else by its first words.
    notNowAnswers.push({ what, text: /<title>([^<]*)<\/title>/.exec(text)?.[1] ?? text.slice(0, 200) });
    return true;
  }

  // --- Requests, through the proxy ---

  const slackText = (r: SlackResponse) => r.text;
  const tagged = (tag: string | undefined, headers: Record<string, string> = {}) =>
    tag ? { ...headers, 'x-load-tag': tag } : headers;

  function command(kind: string, body: URLSearchParams, headers: Record<string, string> = {}) {
    return load.timed(kind, () => slack.post(body.toString(), headers), slackText);
  }

  function interact(kind: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) {
    return load.timed(kind, () => slack.interaction(payload, headers), slackText);
  }

  function page(kind: string, request: () => Promise<PageAnswer>) {
    return load.timed(kind, request, (p) => p.html);
  }

  /**
   * Slack's request was answered: 200, as Bolt answers once acked. Bolt answers 404 to one not
   * acked within 3 s (Slack then tells the person the app did not respond): kept with the "not
   * now" answers; what it asked for may still be done, and the piece of work goes on.
   */
  function expectAcked(acks: SlackResponse[], what: string): void {
    for (const ack of acks) {
      if (lateAck(ack)) notNowAnswers.push({ what, text: 'not acked within 3 s (Bolt answered 404)' });
      else expect(ack.status, `${what}: ${ack.text.slice(0, 200)}`).toBe(200);
    }
  }

  const who = (user: string) => ({ id: user, team_id: TEAM_ID, username: user.toLowerCase() });

  /** A button pressed in a message (a DM, an ephemeral answer). */
  function messageButton(
    user: string,
    action: { action_id: string; value: string },
    at: { channel: string; ts: string; ephemeral?: boolean },
    responseUrl: string,
  ): Record<string, unknown> {
    return {
      type: 'block_actions',
      user: who(user),
      api_app_id: 'A0APP',
      team: { id: TEAM_ID, domain: 'acme' },
      trigger_id: triggerId(),
      container: { type: 'message', channel_id: at.channel, message_ts: at.ts, is_ephemeral: at.ephemeral === true },
      channel: { id: at.channel },
      message: { ts: at.ts },
      response_url: responseUrl,
      actions: [{ type: 'button', block_id: 'b', action_ts: '1', ...action }],
    };
  }

  /** A button pressed in the admin console `shown`. */
  function consoleButton(
    user: string,
    shown: Shown,
    action: { action_id: string; block_id: string; value: string },
  ): Record<string, unknown> {
    return {
      type: 'block_actions',
      user: who(user),
      api_app_id: 'A0APP',
      team: { id: TEAM_ID, domain: 'acme' },
      trigger_id: triggerId(),
      container: { type: 'view', view_id: shown.id },
      view: {
        id: shown.id,
        type: 'modal',
        hash: shown.hash,
        callback_id: FORMS.console,
        private_metadata: shown.privateMetadata,
        root_view_id: shown.id,
        state: { values: {} },
      },
      actions: [{ type: 'button', action_ts: '1', ...action }],
    };
  }

  /**
   * `/chatbees-users` by each of `users` at once: the consoles Slack shows them, or undefined for
   * one answered "not now".
   */
  async function openConsoles(users: string[], tag?: string): Promise<Array<Shown | undefined>> {
    const bodies = users.map((user) => slack.commandBody(user, ''));
    const acks = await load.send(users.length, () =>
      Promise.all(bodies.map((body, j) => command('console: open', body, tagged(tag && `${tag}-open${j}`)))),
    );
    expectAcked(acks, 'opening the console');
    return Promise.all(
      bodies.map(async (body, j) => {
        if (saidNotNow('console: open', acks[j]?.text ?? '')) return undefined;
        expect(acks[j]?.text, `${users[j]} opening the console`).toBe('');
        const call = await waitFor(
          () => seen.sync().opened.get(body.get('trigger_id') as string),
          OUTCOME_MS,
          `the console of ${users[j]}`,
        );
        const view = call.response?.view as { id: string; hash: string; private_metadata?: string };
        return { id: view.id, hash: view.hash, privateMetadata: view.private_metadata ?? '' };
      }),
    );
  }

  /** What the console `shown` said after a press in it (its first views.update). */
  async function answerIn(shown: Shown, what: string): Promise<string> {
    const call = await waitFor(() => seen.sync().updated.get(shown.id)?.[0], OUTCOME_MS, what);
    return JSON.stringify(call.params.view);
  }

  /** The answer posted to a command's or a press's response_url. */
  async function answerAt(responseUrl: string, what: string): Promise<string> {
    const post = await waitFor(() => seen.sync().answers.get(idOfUrl(responseUrl))?.[0], OUTCOME_MS, what);
    return String(post.body.text);
  }

  // --- The pieces of work ---

  const READS = ['help', 'whoami', 'list', 'invites', 'list admins', 'find uinv000'];
  let fillers = 0;
  /** A read command by an admin, answered in the ack. */
  async function read(): Promise<void> {
    const n = fillers++;
    const user = ADMINS[n % ADMINS.length] as string;
    const text = READS[Math.floor(n / ADMINS.length) % READS.length] as string;
    const kind = `read: ${text.split(' ')[0]}`;
    try {
      const ack = await command(kind, slack.commandBody(user, text));
      const said = typeof ack.json?.text === 'string' ? ack.json.text : '';
      if (lateAck(ack)) notNowAnswers.push({ what: kind, text: 'not acked within 3 s (Bolt answered 404)' });
      else if (ack.status !== 200 || said === '') {
        flowErrors.push(`${kind} by ${user}: ${ack.status} ${ack.text.slice(0, 200)}`);
      } else saidNotNow(kind, said);
    } catch (err) {
      flowErrors.push(`${kind} by ${user}: ${(err as Error).message}`);
    }
  }

  /** The invited person answers their DM: Accept in it, or the link's page (GET, then confirm). */
  async function join(inv: Invitation, dm: Call, options: { redeliver: boolean; double: boolean; address: string }) {
    if (inv.mode === 'accept') {
      const at = { channel: String(dm.response?.channel ?? dm.params.channel), ts: String(dm.response?.ts) };
      inv.dmAt = `${at.channel}@${at.ts}`;
      inv.pressedTwice = options.redeliver;
      const responseUrl = standIn.responseUrl();
      const press = messageButton(
        inv.user,
        { action_id: BUTTONS.acceptInvitation, value: inv.inviteId as string },
        at,
        responseUrl,
      );
      const acks = await load.send(options.redeliver ? 2 : 1, () =>
        Promise.all([
          interact('accept', press),
          ...(options.redeliver ? [interact('accept (redelivered)', press, RETRY)] : []),
        ]),
      );
      expectAcked(acks, `${inv.user} pressing Accept`);
      // The DM changes in place to say they joined; a refusal is whispered to them.
      const outcome = await waitFor(
        () => {
          seen.sync();
          const joined = seen.messageUpdates
            .get(`${at.channel}@${at.ts}`)
            ?.some((c) => String(c.params.text).includes('You joined *Acme Bees*'));
          return joined ? 'joined' : seen.answers.get(idOfUrl(responseUrl))?.map((p) => String(p.body.text))[0];
        },
        OUTCOME_MS,
        `${inv.user}'s DM to say they joined`,
      );
      if (outcome !== 'joined') {
        inv.joinNotNow = true;
        if (saidNotNow('accept', outcome)) return;
        throw new Error(`${inv.user} pressed Accept and was told: ${outcome}`);
      }
    } else {
      const browser = new PageSession(proxy.url, {
        headers: { 'X-Forwarded-For': options.address, Origin: PUBLIC_URL },
      });
      const link = pathOf(linkButtonUrl(dm));
      const shown = await load.send(1, () => page('page: open', () => browser.go(link)));
      if (shown.status === 503 && saidNotNow('page: open', shown.html)) {
        inv.joinNotNow = true;
        return;
      }
      expect(shown.status, `${inv.user}'s page`).toBe(200);
      expect(shown.html).toContain('name="csrf"');
      const confirmed = await load.send(options.double ? 2 : 1, () =>
        Promise.all(
          Array.from({ length: options.double ? 2 : 1 }, () =>
            page('page: confirm', () => browser.submit(link, shown.html)),
          ),
        ),
      );
      const joined = confirmed.filter((p) => p.status === 200 && p.html.includes('You are now an'));
      const later = confirmed.filter((p) => p.status === 503 && saidNotNow('page: confirm', p.html));
      if (joined.length === 0 && later.length > 0) {
        inv.joinNotNow = true;
        return;
      }
      expect(joined, `${inv.user}'s confirmations: ${confirmed.map((p) => p.status).join(', ')}`).toHaveLength(1);
      for (const other of confirmed.filter((p) => !joined.includes(p) && !later.includes(p))) {
        expect(
          (other.status === 410 && other.html.includes('already been used')) ||
            (other.status === 200 && other.html.includes('You are already a member')),
          `${inv.user}'s second confirmation: ${other.status}`,
        ).toBe(true);
      }
    }
    inv.joined = true;
    if (!inv.bulk) joinedPool.push(inv.user);
  }

  /** `invite @person` by an inviter (Slack redelivering it now and then), then their answer. */
  async function personalInvitation(i: number): Promise<void> {
    const user = INVITEES[i] as string;
    const m = i % 10;
    const inv: Invitation = {
      user,
      inviter: INVITERS[i % INVITERS.length] as string,
      bulk: false,
      mode: m < 4 ? 'accept' : m < 8 ? 'page' : 'none',
      sent: false,
      joined: false,
    };
    invitations.set(user, inv);
    const body = slack.commandBody(inv.inviter, `invite <@${user}>`);
    const atOnce = i % 9 === 4;
    const acks = await load.send(atOnce ? 2 : 1, () =>
      Promise.all([command('invite', body), ...(atOnce ? [command('invite (redelivered)', body, RETRY)] : [])]),
    );
    expectAcked(acks, `invite ${user}`);
    if (saidNotNow('invite', String(acks[0]?.json?.text))) {
      inv.notNow = true;
      return;
    }
    expect(acks[0]?.json?.text).toBe('Inviting 1 person…');
    // The admin is answered once the DM is out.
    const answer = await answerAt(body.get('response_url') as string, `the answer to invite ${user}`);
    if (saidNotNow('invite', answer)) {
      inv.notNow = true;
      inv.notStored = answer.includes('not invited: it could not be stored');
      return;
    }
    expect(answer).toContain(`:white_check_mark: <@${user}> — invited`);
    const dm = seen.sync().invitationDms.get(user)?.[0];
    if (!dm) throw new Error(`${user}: the admin was told the DM went out; Slack has none`);
    inv.sent = true;
    inv.inviteId = inviteIdOf(dm);
    if (i % 9 === 8) {
      const again = await load.send(1, () => command('invite (redelivered)', body, RETRY));
      expectAcked([again], `invite ${user} again`);
    }
    if (inv.mode === 'none') return;
    await join(inv, dm, { redeliver: m < 4 && i % 3 === 0, double: m === 5, address: `10.1.${i >> 8}.${i & 255}` });
  }

  /** A person asks for access; two admins decide at the same instant, through the proxy. */
  async function accessRequest(i: number): Promise<void> {
    const asker = ASKERS[i] as string;
    const a = INVITERS[i % 3] as string;
    const b = INVITERS[(i + 1) % 3] as string;
    const body = slack.commandBody(asker, `request I need the weekly reports (${i})`);
    const ack = await load.send(1, () => command('request', body));
    expectAcked([ack], `${asker} asking`);
    if (saidNotNow('request', ack.text)) return;
    const asked = await answerAt(body.get('response_url') as string, `the answer to ${asker}'s request`);
    if (saidNotNow('request', asked)) return;
    expect(asked).toMatch(/AccountAdmins? ha(ve|s) your request/);
    const [copyA, copyB] = await waitFor(
      () => {
        const both = [a, b].map((admin) => seen.sync().copies.get(`${admin}|${asker}`));
        return both.every(Boolean) ? (both as Call[]) : undefined;
      },
      OUTCOME_MS,
      `copies of ${asker}'s request for ${a} and ${b}`,
    );
    const requestId = buttonsIn(copyA?.params.blocks).find((e) => e.action_id === BUTTONS.approveRequest)?.value;
    expect(requestId).toMatch(/^\d+$/);
    const at = (copy: Call | undefined) => ({
      channel: String(copy?.response?.channel ?? copy?.params.channel),
      ts: String(copy?.response?.ts),
    });
    const kind = i % 3 === 2 ? 'deny' : 'approve';
    const redelivered = i % 4 === 1;
    const urlA = standIn.responseUrl();
    const approveA = messageButton(
      a,
      { action_id: BUTTONS.approveRequest, value: requestId as string },
      at(copyA),
      urlA,
    );
    const tag = `request${i}`;
    const acase: AccessCase = { asker, requestId: requestId as string, a, b, kind, urlA, redelivered };
    let second: () => Promise<SlackResponse>;
    if (kind === 'approve') {
      acase.urlB = standIn.responseUrl();
      const approveB = messageButton(
        b,
        { action_id: BUTTONS.approveRequest, value: requestId as string },
        at(copyB),
        acase.urlB,
      );
      second = () => interact('approve', approveB, tagged(`${tag}b`));
    } else {
      // Deny asks for a reason first: b presses it, gets the form, and sends it as a presses Approve.
      const denyUrl = standIn.responseUrl();
      const pressDeny = messageButton(
        b,
        { action_id: BUTTONS.denyRequest, value: requestId as string },
        at(copyB),
        denyUrl,
      );
      const pressed = await load.send(1, () => interact('deny (opens the form)', pressDeny));
      expectAcked([pressed], `${b} pressing Deny`);
      const opened = await waitFor(
        () => seen.sync().opened.get(pressDeny.trigger_id as string) ?? seen.answers.get(idOfUrl(denyUrl))?.[0],
        OUTCOME_MS,
        `Deny's form for ${asker}`,
      );
      if ('body' in opened) {
        if (saidNotNow('deny (opens the form)', String(opened.body.text))) return;
        throw new Error(`${b} pressed Deny and was told: ${opened.body.text}`);
      }
      const form = opened.response?.view as { id: string; hash: string; private_metadata?: string };
      acase.formViewId = form.id;
      const submission = {
        type: 'view_submission',
        user: who(b),
        api_app_id: 'A0APP',
        team: { id: TEAM_ID, domain: 'acme' },
        trigger_id: triggerId(),
        view: {
          id: form.id,
          type: 'modal',
          callback_id: FORMS.denyRequest,
          hash: form.hash,
          private_metadata: form.private_metadata ?? requestId,
          root_view_id: form.id,
          state: {
            values: { deny_reason: { deny_reason_text: { type: 'plain_text_input', value: 'Not this quarter' } } },
          },
        },
      };
      second = () => interact('deny (sends the form)', submission, tagged(`${tag}b`));
    }
    accessCases.push(acase);
    const acks = await load.send(redelivered ? 3 : 2, () =>
      Promise.all([
        interact('approve', approveA, tagged(`${tag}a`)),
        second(),
        ...(redelivered ? [interact('approve (redelivered)', approveA, RETRY)] : []),
      ]),
    );
    expectAcked(acks, `deciding ${asker}'s request`);
    // A form refused at the door is answered in the ack itself.
    const formAck = kind === 'deny' ? (acks[1]?.text ?? '') : '';
    // What each press was answered: a's at its response_url; b's there too, or in Deny's form.
    const saidA = () =>
      seen
        .sync()
        .answers.get(idOfUrl(urlA))
        ?.map((p) => String(p.body.text)) ?? [];
    const saidB = () =>
      acase.urlB
        ? (seen
            .sync()
            .answers.get(idOfUrl(acase.urlB))
            ?.map((p) => String(p.body.text)) ?? [])
        : [
            formAck,
            ...(seen
              .sync()
              .updated.get(acase.formViewId as string)
              ?.map((u) => JSON.stringify(u.params.view)) ?? []),
          ].filter(Boolean);
    // Decided (the asker is told), or every press answered "not now".
    const decided = await waitFor(
      () => {
        if (seen.sync().dms.get(asker)?.length) return 'decided';
        return [saidA(), saidB()].every((said) => said.some(notNow)) ? 'not now' : undefined;
      },
      OUTCOME_MS,
      `${asker} told of the decision`,
    );
    if (decided === 'not now') {
      for (const text of [...saidA(), ...saidB()]) saidNotNow('deciding a request', text);
      return;
    }
    // The admin who lost is told who won (or, under load, that it could not be done now).
    const row = await db.knex('access_requests').where({ id: requestId }).first('status', 'decided_by');
    const loserSaid = row.decided_by === a ? saidB : saidA;
    const already = `Already ${row.status} by <@${row.decided_by}>`;
    const said = await waitFor(
      () => loserSaid().find((t) => t.includes(already) || notNow(t)),
      OUTCOME_MS,
      `the admin who lost ${asker}'s request told who won`,
    );
    saidNotNow('deciding a request (the press that lost)', said);
  }

  /** What a role press was answered. */
  function roleOutcome(p: RolePress): 'changed' | 'refused' | 'not now' {
    if (p.answer.includes(`<@${p.target}> is now an *${p.role}*`)) return 'changed';
    if (/needs the AccountAdmin role[,;] (and )?you are an AccountUser/.test(p.answer)) return 'refused';
    if (notNow(p.answer)) return 'not now';
    throw new Error(`${p.by} making ${p.target} an ${p.role} was told: ${p.answer.slice(0, 400)}`);
  }

  /** Keeps a role press, and its answer if it said "not now". */
  function rolePressed(p: RolePress): 'changed' | 'refused' | 'not now' {
    rolePresses.push(p);
    const outcome = roleOutcome(p);
    if (outcome === 'not now') saidNotNow('console: role', p.answer);
    return outcome;
  }

  /** An inviter makes `user` an AccountAdmin again from the console (until done). */
  async function promote(user: string, round: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const admin = INVITERS[(round + attempt) % INVITERS.length] as string;
      const [shown] = await openConsoles([admin]);
      if (shown) {
        const press = consoleButton(admin, shown, {
          action_id: BUTTONS.setRole,
          block_id: `member_actions:${user}`,
          value: `${user}|AccountAdmin`,
        });
        const redeliver = round % 3 === 1;
        const acks = await load.send(redeliver ? 2 : 1, () =>
          Promise.all([
            interact('console: role', press),
            ...(redeliver ? [interact('console: role (redelivered)', press, RETRY)] : []),
          ]),
        );
        expectAcked(acks, `${admin} promoting ${user}`);
        const said: RolePress = {
          by: admin,
          target: user,
          role: 'AccountAdmin',
          answer: await answerIn(shown, `${admin}'s console promoting ${user}`),
        };
        const outcome = rolePressed(said);
        if (outcome === 'changed') return;
        expect(outcome, `${admin} promoting ${user}`).toBe('not now');
      }
      if (attempt >= 5) throw new Error(`${user} could not be made an AccountAdmin again`);
    }
  }

  /** The racers demote each other at the same instant; an inviter makes the one who lost an admin again. */
  async function race(round: number): Promise<void> {
    const [x, y] = RACERS;
    const [vx, vy] = await openConsoles([x, y], `race${round}`);
    if (!vx || !vy) return;
    const px = consoleButton(x, vx, {
      action_id: BUTTONS.setRole,
      block_id: `member_actions:${y}`,
      value: `${y}|AccountUser`,
    });
    const py = consoleButton(y, vy, {
      action_id: BUTTONS.setRole,
      block_id: `member_actions:${x}`,
      value: `${x}|AccountUser`,
    });
    const acks = await load.send(2, () =>
      Promise.all([
        interact('console: role (race)', px, tagged(`race${round}x`)),
        interact('console: role (race)', py, tagged(`race${round}y`)),
      ]),
    );
    expectAcked(acks, `race ${round}`);
    const [ax, ay] = await Promise.all([
      answerIn(vx, `${x}'s console, round ${round}`),
      answerIn(vy, `${y}'s console, round ${round}`),
    ]);
    const pressX: RolePress = { by: x, target: y, role: 'AccountUser', answer: ax, race: round };
    const pressY: RolePress = { by: y, target: x, role: 'AccountUser', answer: ay, race: round };
    races.push({ round, split: proxy.byTag.get(`race${round}x`) !== proxy.byTag.get(`race${round}y`) });
    const outcomes = [rolePressed(pressX), rolePressed(pressY)];
    // Never both; and one of them, unless a press was answered "not now".
    expect(
      outcomes.filter((o) => o === 'changed').length,
      `round ${round}: ${outcomes.join(', ')}`,
    ).toBeLessThanOrEqual(1);
    if (!outcomes.includes('not now'))
      expect(
        outcomes.filter((o) => o === 'changed'),
        `round ${round}`,
      ).toHaveLength(1);
    if (outcomes[0] === 'changed') await promote(y, round);
    if (outcomes[1] === 'changed') await promote(x, round);
  }

  /** An inviter removes someone who joined, from the console (Slack redelivering it now and then). */
  async function removal(n: number): Promise<void> {
    const target = joinedPool.shift();
    if (!target) return;
    const admin = INVITERS[n % INVITERS.length] as string;
    const [shown] = await openConsoles([admin]);
    if (!shown) return;
    const press = consoleButton(admin, shown, {
      action_id: BUTTONS.remove,
      block_id: `member_actions:${target}`,
      value: target,
    });
    const redeliver = n % 3 === 0;
    const acks = await load.send(redeliver ? 2 : 1, () =>
      Promise.all([
        interact('console: remove', press),
        ...(redeliver ? [interact('console: remove (redelivered)', press, RETRY)] : []),
      ]),
    );
    expectAcked(acks, `${admin} removing ${target}`);
    const said = await answerIn(shown, `${admin}'s console removing ${target}`);
    removals.push({ by: admin, target, answer: said });
    if (said.includes(`Removed <@${target}>`) || saidNotNow('console: remove', said)) return;
    throw new Error(`${admin} removing ${target} was told: ${said.slice(0, 400)}`);
  }

  /** `invite #channel`: the counts, Invite pressed (and redelivered); some invitees answer as their DMs come. */
  async function bulkInvitation(): Promise<void> {
    const inviter = INVITERS[0];
    let counts: ResponseUrlPost | undefined;
    for (let attempt = 0; !counts; attempt++) {
      const body = slack.commandBody(inviter, `invite <#${BULK_CHANNEL}|bulk-load>`);
      const ack = await load.send(1, () => command('invite a channel', body));
      expectAcked([ack], 'invite a channel');
      if (saidNotNow('invite a channel', ack.text)) {
        if (attempt >= 3) throw new Error('the channel could not be counted');
        continue;
      }
      expect(ack.json?.text).toBe(`Counting the people in <#${BULK_CHANNEL}>…`);
      const answer = await waitFor(
        () => seen.sync().answers.get(idOfUrl(body.get('response_url') as string))?.[0],
        OUTCOME_MS,
        'the counts',
      );
      if (!saidNotNow('invite a channel', String(answer.body.text))) counts = answer;
      if (!counts && attempt >= 3) throw new Error('the channel could not be counted');
    }
    expect(String(counts.body.text)).toBe(
      `${BULK.length} people in <#${BULK_CHANNEL}>: ${BULK.length} to invite. Invite them?`,
    );
    const value = buttonsIn(counts.body.blocks).find((e) => e.action_id === BUTTONS.bulkInvite)?.value;
    expect(value).toMatch(/^\d+$/);
    bulkId = Number(value);
    // Invite pressed, and delivered again; pressed anew if answered "not now".
    for (let attempt = 0; ; attempt++) {
      bulkPressUrl = standIn.responseUrl();
      const press = messageButton(
        inviter,
        { action_id: BUTTONS.bulkInvite, value: value as string },
        { channel: 'C0GENERAL', ts: '1.1', ephemeral: true },
        bulkPressUrl,
      );
      const acks = await load.send(2, () =>
        Promise.all([interact('bulk: invite', press), interact('bulk: invite (redelivered)', press, RETRY)]),
      );
      expectAcked(acks, 'pressing Invite');
      const pressed = await answerAt(bulkPressUrl, 'the answer to Invite');
      if (saidNotNow('bulk: invite', pressed) && attempt < 3) continue;
      expect(pressed).toContain(`Inviting ${BULK.length} people`);
      break;
    }
    for (const user of BULK) {
      invitations.set(user, { user, inviter, bulk: true, mode: 'none', sent: false, joined: false });
    }
    // A quarter accept in the DM, a tenth open the link's page; each as soon as their DM is there.
    const waiting = new Map<number, JoinMode>();
    BULK.forEach((_, k) => {
      if (k % 4 === 0) waiting.set(k, 'accept');
      else if (k % 10 === 1) waiting.set(k, 'page');
    });
    await waitFor(
      () => {
        seen.sync();
        for (const [k, mode] of [...waiting]) {
          const user = BULK[k] as string;
          const dm = seen.invitationDms.get(user)?.[0];
          if (!dm) continue;
          waiting.delete(k);
          const inv = invitations.get(user) as Invitation;
          session(`bulk invitee ${user}`, gates.bulkInvitee, () => {
            inv.mode = mode;
            inv.inviteId = inviteIdOf(dm);
            return join(inv, dm, {
              redeliver: k % 20 === 0,
              double: k % 20 === 11,
              address: `10.2.${k >> 8}.${k & 255}`,
            });
          });
        }
        return waiting.size === 0;
      },
      OUTCOME_MS * 2,
      'the bulk invitation DMs',
    );
  }

  // --- The minute ---

  it(`a minute of mixed load at ${RATE} requests a second through three processes: nothing lost, nothing done twice`, {
    timeout: 150_000,
  }, async () => {
    // When each piece of work may start, in the load's time.
    const plan: Array<{ at: number; start: () => void }> = [];
    INVITEES.forEach((user, i) => {
      plan.push({
        at: (i * LAST_START_MS) / INVITEES.length,
        start: () => session(`invitation of ${user}`, gates.invitation, () => personalInvitation(i)),
      });
    });
    ASKERS.forEach((user, i) => {
      plan.push({
        at: 1_000 + (i * (LAST_START_MS - 1_000)) / ASKERS.length,
        start: () => session(`request of ${user}`, gates.request, () => accessRequest(i)),
      });
    });
    plan.push({ at: BULK_AT_MS, start: () => flow('bulk invitation', bulkInvitation) });
    plan.push({
      at: RACES_FROM_MS,
      start: () =>
        flow('role races', async () => {
          for (let round = 0; Date.now() - load.startedAt < LAST_START_MS; round++) {
            await race(round);
            await sleep(300);
          }
        }),
    });
    plan.push({
      at: REMOVALS_FROM_MS,
      start: () =>
        flow('removals', async () => {
          for (let n = 0; Date.now() - load.startedAt < LAST_START_MS; n++) {
            await removal(n);
            await sleep(2_000);
          }
        }),
    });
    plan.sort((p, q) => p.at - q.at);
    let planned = 0;

    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const cpuBefore = process.cpuUsage();
    const botCpuBefore = bots.map((bot) => cpuSecondsOf(bot.child.pid));
    await load
      .run({
        durationMs: DURATION_MS,
        giveUpMs: DURATION_MS + DRAIN_MS,
        filler: read,
        busy: () => activeFlows > 0 || planned < plan.length,
        tick: (elapsed) => {
          for (; planned < plan.length && (plan[planned]?.at ?? 0) <= elapsed; planned++) plan[planned]?.start();
        },
      })
      .catch((err: Error) => {
        throw new Error(
          `${err.message}; still under way: ${[...underWay].slice(0, 10).join(', ')}; errors: ${flowErrors.slice(0, 5).join('; ')}`,
        );
      });
    const spanMs = load.lastAt - load.startedAt;
    lag.disable();
    const testCpu = process.cpuUsage(cpuBefore);
    const botCpu = bots.map((bot, i) => cpuSecondsOf(bot.child.pid) - (botCpuBefore[i] ?? 0));

    // Everything the load set off has happened: the bulk invitation is done, Slack hears nothing more.
    if (bulkId !== undefined) {
      await waitFor(
        async () => (await db.knex('bulk_invitations').where({ id: bulkId }).first())?.status === 'done',
        OUTCOME_MS * 2,
        'the bulk invitation to finish',
      ).catch(() => undefined);
    }
    let mark = -1;
    let since = Date.now();
    await waitFor(
      () => {
        const now = standIn.calls.length + standIn.responseUrlPosts.length;
        if (now !== mark) {
          mark = now;
          since = Date.now();
        }
        return Date.now() - since >= QUIET_MS;
      },
      OUTCOME_MS,
      'Slack to hear nothing more',
    );
    seen.sync();

    // The figures.
    const all = [...invitations.values()];
    const byKind = countBy(load.sent.map((s) => s.kind));
    const ms = load.sent.map((s) => s.ms).sort((p, q) => p - q);
    // Errors the processes logged: those of a database that could not keep up are counted; any other fails.
    const errorLines = bots.flatMap((bot, i) =>
      bot.output.filter((l) => /"level":(50|60)/.test(l)).map((l) => `process ${i}: ${l}`),
    );
    const loadErrors = errorLines.filter((l) => LOAD_ERROR.test(l));
    const otherErrors = errorLines.filter((l) => !LOAD_ERROR.test(l));
    console.log(
      [
        `mixed load: ${load.sent.length} requests in ${(spanMs / 1000).toFixed(1)} s = ${((load.sent.length * 1000) / spanMs).toFixed(1)}/s; ` +
          `in the first ${DURATION_MS / 1000} s ${load.inMinute} = ${((load.inMinute * 1000) / DURATION_MS).toFixed(1)}/s ` +
          `(paced at ${RATE}/s, at most ${MAX_IN_FLIGHT} unanswered)`,
        `  answered in ms: p50 ${percentile(ms, 0.5)}, p95 ${percentile(ms, 0.95)}, p99 ${percentile(ms, 0.99)}, max ${percentile(ms, 1)}`,
        `  per process: ${proxy.served.join(' / ')}; race pairs through two processes: ${races.filter((r) => r.split).length} of ${races.length}`,
        `  by kind: ${Object.entries(byKind)
          .sort((p, q) => q[1] - p[1])
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
        `  invited by name ${all.filter((v) => !v.bulk).length} of ${INVITEES.length} (DM out ${all.filter((v) => !v.bulk && v.sent).length}), ` +
          `with the channel ${all.filter((v) => v.bulk).length}; joined by Accept ${all.filter((v) => v.joined && v.mode === 'accept').length}, ` +
          `by the page ${all.filter((v) => v.joined && v.mode === 'page').length}; access requests ${accessCases.length} of ${ASKERS.length} decided by two admins at once; ` +
          `role presses ${rolePresses.length} (${races.length} races); removals ${removals.length}; not started in time ${skipped}`,
        `  "not now" answers: ${notNowAnswers.length} ${JSON.stringify(countBy(notNowAnswers.map((a) => a.what)))}`,
        ...[...new Set(notNowAnswers.map((a) => a.text))].slice(0, 4).map((t) => `    ${t}`),
        `  Slack Web API calls ${standIn.calls.length}; CPU s: test process ${((testCpu.user + testCpu.system) / 1e6).toFixed(1)}, ` +
          `bots ${botCpu.map((c) => c.toFixed(1)).join(' / ')}; test event loop delay p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms`,
        `  error log lines: ${loadErrors.length} of the database not keeping up, ${otherErrors.length} other; proxy failures: ${proxy.failures.length}`,
        ...proxy.failures.slice(0, 3).map((f) => `    ${f}`),
        ...[...loadErrors.slice(0, 2), ...otherErrors.slice(0, 5)].map((l) => `    ${l.slice(0, 400)}`),
      ].join('\n'),
    );

    // No process exited, nothing failed on the way.
    for (const bot of bots) {
      expect({ code: bot.child.exitCode, signal: bot.child.signalCode }).toEqual({ code: null, signal: null });
    }
    expect(proxy.failures).toEqual([]);
    const statuses = load.sent.filter(
      (s) =>
        s.status !== 200 &&
        !(s.kind === 'page: confirm' && s.status === 410) &&
        !(s.status === 503 && notNow(s.text)) &&
        !(!s.kind.startsWith('page') && lateAck(s)),
    );
    expect(statuses.map((s) => `${s.kind}: ${s.status}`)).toEqual([]);
    expect(otherErrors).toEqual([]);

    const problems: string[] = [];
    const check = (ok: boolean, problem: string) => {
      if (!ok) problems.push(problem);
    };
    const audit: Array<{
      action: string;
      actor: string;
      target_slack_user_id: string | null;
      target_invite_id: string | null;
      source: string;
      before: Record<string, unknown> | null;
      after: Record<string, unknown> | null;
    }> = await db.knex('audit_log').orderBy('id');
    const entries = (action: string, target?: string) =>
      audit.filter((e) => e.action === action && (target === undefined || e.target_slack_user_id === target));

    // Every invitation: at most one invite (a redelivery made none); each invite stored DMed once;
    // used once by whoever answered, one member and one entry each.
    const invites: Array<{
      id: string;
      for_slack_user_id: string;
      created_by: string;
      bulk_id: string | null;
      uses: number;
    }> = await db.knex('invites').select('id', 'for_slack_user_id', 'created_by', 'bulk_id', 'uses');
    const members: Array<{
      slack_user_id: string;
      status: string;
      role: string;
      invite_id: string | null;
      invited_by: string;
    }> = await db.knex('members');
    /** People whose Accept, delivered twice, was answered "not now" once and done once. */
    const bothDeliveries: string[] = [];
    const removed = new Set(removals.filter((r) => r.answer.includes(`Removed <@${r.target}>`)).map((r) => r.target));
    for (const inv of all) {
      const rows = invites.filter((r) => r.for_slack_user_id === inv.user);
      const row = rows[0];
      check(
        rows.length === (inv.sent || inv.bulk ? 1 : rows.length) && rows.length <= 1,
        `${inv.user}: ${rows.length} invites`,
      );
      // An invitation answered "not now" may have been stored and its DM not sent.
      const dms = seen.invitationDms.get(inv.user) ?? [];
      check(
        dms.length === rows.length || (inv.notNow === true && dms.length < rows.length),
        `${inv.user}: ${dms.length} invitation DMs for ${rows.length} invites`,
      );
      // Told it was not done: it was not.
      check(
        !inv.notStored || rows.length + dms.length === 0,
        `${inv.user}: the admin was told it could not be stored, yet ${rows.length} invites, ${dms.length} DMs`,
      );
      if (!row) continue;
      check(
        row.created_by === inv.inviter && (row.bulk_id !== null) === inv.bulk,
        `${inv.user}: invite by ${row.created_by}, bulk ${row.bulk_id}`,
      );
      check(
        dms.every((dm) => inviteIdOf(dm) === row.id),
        `${inv.user}: a DM carries another invite than ${row.id}`,
      );
      check(
        inv.inviteId === undefined || inv.inviteId === row.id,
        `${inv.user}: answered ${inv.inviteId}, stored ${row.id}`,
      );
      const registered = entries('member.registered', inv.user);
      const rowsOf = members.filter((mm) => mm.slack_user_id === inv.user);
      check(
        row.uses === registered.length &&
          row.uses === rowsOf.length &&
          row.uses <= 1 &&
          (!inv.joined || row.uses === 1),
        `${inv.user}: invite used ${row.uses} times, ${registered.length} member.registered entries, ${rowsOf.length} member rows, seen joined ${inv.joined}`,
      );
      check(inv.mode !== 'none' || row.uses === 0, `${inv.user} never answered, yet the invite was used`);
      // Unless Slack delivered the press twice, one delivery answered "not now" and the other
      // joined them, as their DM then says.
      const joinedByTheOther =
        inv.pressedTwice === true &&
        (seen.messageUpdates.get(inv.dmAt ?? '') ?? []).some((c) => String(c.params.text).includes('You joined'));
      if (inv.joinNotNow && row.uses === 1 && joinedByTheOther) bothDeliveries.push(inv.user);
      else {
        check(
          !inv.joinNotNow || row.uses === 0,
          `${inv.user} was told "not now" when joining, yet the invite was used`,
        );
      }
      const entry = registered[0];
      if (entry) {
        const source = inv.mode === 'accept' ? 'invitation_dm' : 'registration_page';
        check(
          entry.target_invite_id === row.id && entry.source === source && entry.actor === inv.user,
          `${inv.user}: registered ${JSON.stringify(entry)}`,
        );
      }
      const member = rowsOf[0];
      if (member) {
        check(
          member.status === (removed.has(inv.user) ? 'removed' : 'active') &&
            member.role === 'AccountUser' &&
            member.invite_id === row.id &&
            member.invited_by === inv.inviter,
          `${inv.user}: member ${JSON.stringify(member)}`,
        );
      }
    }
    check(
      invites.every((r) => invitations.has(r.for_slack_user_id)),
      'an invite for someone nobody invited',
    );
    const created = entries('invite.created');
    check(
      created.length === invites.length && new Set(created.map((e) => e.target_invite_id)).size === invites.length,
      `${created.length} invite.created entries for ${invites.length} invites`,
    );

    // The bulk invitation: everyone sent, Invite acted on once.
    const bulk = await db
      .knex('bulk_invitations')
      .where({ id: bulkId ?? 0 })
      .first();
    check(
      bulk?.status === 'done' && Number(bulk?.total) === BULK.length,
      `the bulk invitation: ${JSON.stringify(bulk)}`,
    );
    const bulkRows: Array<{ state: string }> = await db.knex('bulk_invitees').where({ bulk_id: bulkId ?? 0 });
    check(
      bulkRows.length === BULK.length && bulkRows.every((r) => r.state === 'sent'),
      `bulk invitees: ${JSON.stringify(countBy(bulkRows.map((r) => r.state)))}`,
    );
    check(
      entries('invite.bulk_started').length === 1,
      `${entries('invite.bulk_started').length} invite.bulk_started entries`,
    );
    const pressAnswers = seen.answers.get(idOfUrl(bulkPressUrl)) ?? [];
    check(pressAnswers.length === 1, `Invite answered ${pressAnswers.length} times`);

    // Every access request decided at most once, by one of the two: told once, each copy changed once.
    const requests: Array<{ id: string; slack_user_id: string; status: string; decided_by: string | null }> =
      await db.knex('access_requests');
    check(
      requests.every((r) => ASKERS.includes(r.slack_user_id)) &&
        new Set(requests.map((r) => r.slack_user_id)).size === requests.length,
      `access requests: ${JSON.stringify(countBy(requests.map((r) => r.slack_user_id)))}`,
    );
    for (const c of accessCases) {
      const row = requests.find((r) => r.slack_user_id === c.asker);
      check(String(row?.id) === c.requestId, `${c.asker}: request ${JSON.stringify(row)}`);
      if (!row) continue;
      const registered = entries('member.registered', c.asker);
      const denied = entries('access.denied', c.asker);
      const told = seen.dms.get(c.asker) ?? [];
      const updates = seen.requestUpdates.get(c.asker) ?? [];
      const asMember = members.filter((mm) => mm.slack_user_id === c.asker);
      if (row.status === 'open') {
        // Both decisions answered "not now": nothing happened.
        check(
          registered.length + denied.length + told.length + updates.length + asMember.length === 0,
          `${c.asker}: open, yet ${registered.length} registered, ${denied.length} denied, ${told.length} DMs, ${updates.length} copies changed`,
        );
        continue;
      }
      const winner = row.decided_by as string;
      check([c.a, c.b].includes(winner), `${c.asker}: decided by ${winner}, not ${c.a} or ${c.b}`);
      check(
        c.kind === 'approve' ? row.status === 'approved' : ['approved', 'denied'].includes(row.status),
        `${c.asker}: ${row.status}`,
      );
      const isApproved = row.status === 'approved';
      check(
        registered.length === (isApproved ? 1 : 0) && denied.length === (isApproved ? 0 : 1),
        `${c.asker}: ${registered.length} member.registered and ${denied.length} access.denied entries, ${row.status}`,
      );
      check(
        isApproved
          ? String(registered[0]?.after?.accessRequest) === c.requestId && registered[0]?.actor === winner
          : String(denied[0]?.before?.request) === c.requestId && denied[0]?.actor === winner,
        `${c.asker}: entry ${JSON.stringify(registered[0] ?? denied[0])}`,
      );
      check(
        asMember.length === (isApproved ? 1 : 0) &&
          asMember.every((mm) => mm.status === 'active' && mm.invited_by === winner),
        `${c.asker}: members ${JSON.stringify(asMember)}`,
      );
      const said = isApproved ? `<@${winner}> approved your request` : `<@${winner}> did not approve your request`;
      check(
        told.length === 1 && String(told[0]?.params.text).includes(said),
        `${c.asker}: DMs ${told.map((d) => d.params.text).join(' | ')}`,
      );
      const copies = await db.knex('access_request_copies').where({ request_id: c.requestId });
      check(
        updates.length === copies.length &&
          updates.every((u) => String(u.params.text).includes(`${row.status} by <@${winner}>`)),
        `${c.asker}: ${copies.length} copies, ${updates.length} changed: ${updates.map((u) => u.params.text).join(' | ')}`,
      );
      // Whoever lost was told who won; a press that lost (or came again) says so, and only so.
      const already = `Already ${row.status} by <@${winner}>: nothing changed.`;
      const answersA = (seen.answers.get(idOfUrl(c.urlA)) ?? []).map((p) => String(p.body.text));
      const answersB = c.urlB ? (seen.answers.get(idOfUrl(c.urlB)) ?? []).map((p) => String(p.body.text)) : [];
      const other = [...answersA, ...answersB].filter((t) => t !== already && !notNow(t));
      check(other.length === 0, `${c.asker}: answers ${other.join(' | ')}`);
      const toldWhoWon = (said: string[]) => said.includes(already) || said.some(notNow);
      if (winner === c.b) check(toldWhoWon(answersA), `${c.asker}: ${c.a} not told who won: ${answersA.join(' | ')}`);
      if (c.kind === 'approve' && winner === c.a) {
        check(toldWhoWon(answersB), `${c.asker}: ${c.b} not told who won: ${answersB.join(' | ')}`);
      }
      if (c.kind === 'deny') {
        const form = JSON.stringify((seen.updated.get(c.formViewId as string) ?? []).map((u) => u.params.view));
        check(
          winner === c.b ? form.includes(`Denied: <@${c.asker}> was told`) : form.includes(already) || notNow(form),
          `${c.asker}: Deny's form said ${form.slice(0, 300)}`,
        );
      }
    }
    const joined = all.filter((v) => (invites.find((r) => r.for_slack_user_id === v.user)?.uses ?? 0) > 0).length;
    const approved = requests.filter((r) => r.status === 'approved').length;
    check(
      entries('member.registered').length === joined + approved,
      `${entries('member.registered').length} member.registered entries for ${joined} invites used and ${approved} requests approved`,
    );
    check(
      entries('access.denied').length === requests.filter((r) => r.status === 'denied').length,
      `${entries('access.denied').length} access.denied entries`,
    );

    // Role changes: each one an admin was told of has its entry, and each entry is one of them.
    const sameChanges = (what: string, logged: string[], told: string[]) => {
      const left = [...told];
      const unexplained = logged.filter((e) => {
        const i = left.indexOf(e);
        if (i >= 0) left.splice(i, 1);
        return i < 0;
      });
      check(unexplained.length === 0, `${what} in the audit log that nobody was told of: ${unexplained.join(', ')}`);
      check(left.length === 0, `${what} an admin was told of without an audit entry: ${left.join(', ')}`);
    };
    sameChanges(
      'role changes',
      entries('member.role_changed').map((e) => `${e.actor}>${e.target_slack_user_id}:${e.after?.role}`),
      rolePresses
        .filter((p) => p.answer.includes(`<@${p.target}> is now an *${p.role}*`))
        .map((p) => `${p.by}>${p.target}:${p.role}`),
    );
    // In a race, the press that lost was refused because its admin no longer was one: never by the
    // last-admin rule (three other AccountAdmins were there).
    const lastAdmin = rolePresses.filter((p) => p.answer.includes('at least one AccountAdmin'));
    check(lastAdmin.length === 0, `refused by the last-admin rule: ${JSON.stringify(lastAdmin.slice(0, 3))}`);
    // Removals: the same.
    sameChanges(
      'removals',
      entries('member.removed').map((e) => `${e.actor}>${e.target_slack_user_id}`),
      removals.filter((r) => r.answer.includes(`Removed <@${r.target}>`)).map((r) => `${r.by}>${r.target}`),
    );
    // Nothing else was done: the start's five admins, and what the load did.
    const expectedActions = new Set([
      'member.bootstrapped',
      'member.registered',
      'member.role_changed',
      'member.removed',
      'invite.created',
      'invite.bulk_started',
      'access.denied',
      'access.refused',
    ]);
    check(
      entries('member.bootstrapped').length === ADMINS.length,
      `${entries('member.bootstrapped').length} member.bootstrapped entries`,
    );
    const unexpected = audit.filter((e) => !expectedActions.has(e.action));
    check(unexpected.length === 0, `unexpected audit entries: ${JSON.stringify(unexpected.slice(0, 5))}`);
    // What went wrong inside a piece of work (an outcome that never came, an answer not as it
    // should be), and what the database and Slack say went wrong, together.
    if (bothDeliveries.length > 0) {
      console.log(
        `  Accept delivered twice, one delivery answered "not now" while the other joined them: ${bothDeliveries.join(', ')}`,
      );
    }
    expect({ flowErrors, problems }).toEqual({ flowErrors: [], problems: [] });

    // The proxy spread the requests evenly over the three; every kind of work was done at least once.
    for (const n of proxy.served) expect(n).toBeGreaterThan(proxy.served.reduce((p, q) => p + q, 0) / 3 - 2);
    expect(all.filter((v) => v.joined && v.mode === 'accept' && !v.bulk).length).toBeGreaterThan(0);
    expect(all.filter((v) => v.joined && v.mode === 'page' && !v.bulk).length).toBeGreaterThan(0);
    expect(all.filter((v) => v.joined && v.bulk).length).toBeGreaterThan(0);
    expect(accessCases.length).toBeGreaterThan(0);
    expect(races.length).toBeGreaterThan(0);
    expect(removals.length).toBeGreaterThan(0);

    // The last-admin rule held: every round ended with the five AccountAdmins it started with.
    const admins = members
      .filter((mm) => mm.status === 'active' && mm.role === 'AccountAdmin')
      .map((mm) => mm.slack_user_id);
    expect(admins.sort()).toEqual([...ADMINS].sort());
  });

  it('five AccountAdmins stepping down at the same instant, through the three processes, leave one', {
    timeout: 60_000,
  }, async () => {
    const admins = async () =>
      (await db.knex('members').where({ status: 'active', role: 'AccountAdmin' }).pluck('slack_user_id')) as string[];
    expect((await admins()).sort()).toEqual([...ADMINS].sort());
    const before = (await db.knex('audit_log').where({ action: 'member.role_changed' })).length;
    const shown = (await openConsoles(ADMINS, 'finale')) as Shown[];
    expect(shown.every(Boolean)).toBe(true);
    const presses = ADMINS.map((user, j) =>
      consoleButton(user, shown[j] as Shown, {
        action_id: BUTTONS.setRole,
        block_id: `member_actions:${user}`,
        value: `${user}|AccountUser`,
      }),
    );
    const acks = await Promise.all(
      presses.map((p, j) => interact('console: role (step down)', p, tagged(`finale${j}`))),
    );
    expectAcked(acks, 'stepping down');
    const answers = await Promise.all(shown.map((s, j) => answerIn(s, `${ADMINS[j]}'s console after stepping down`)));
    const steppedDown = ADMINS.filter((user, j) => answers[j]?.includes(`<@${user}> is now an *AccountUser*`));
    const kept = ADMINS.filter((_, j) => answers[j]?.includes('The account must keep at least one AccountAdmin'));
    console.log(
      `stepping down at once: ${steppedDown.length} did, ${kept.length} kept by the last-admin rule (${kept.join(', ')}); ` +
        `through processes ${ADMINS.map((_, j) => proxy.byTag.get(`finale-open${j}`) ?? '?').join(', ')} (opening) and ` +
        `${ADMINS.map((_, j) => proxy.byTag.get(`finale${j}`)).join(', ')} (pressing)`,
    );
    expect(steppedDown).toHaveLength(ADMINS.length - 1);
    expect(kept).toHaveLength(1);
    expect(await admins()).toEqual(kept);
    expect((await db.knex('audit_log').where({ action: 'member.role_changed' })).length - before).toBe(
      ADMINS.length - 1,
    );
  });

  it('all three processes stop cleanly', { timeout: 60_000 }, async () => {
    const exits = await Promise.all(bots.map((bot) => bot.stop()));
    expect(exits).toEqual(bots.map(() => ({ code: 0, signal: null })));
  });
});
