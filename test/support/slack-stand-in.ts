// A local stand-in for Slack's Web API (pointed at with SLACK_API_URL) and for response_url.
// It answers like Slack, records every call, and fails on demand.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackUser {
  id: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_app_user?: boolean;
  team_id?: string;
  profile?: { display_name?: string; real_name?: string; email?: string };
}

export interface Call {
  method: string;
  params: Record<string, unknown>;
  authorization: string | undefined;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
}

export interface Fault {
  /** HTTP status to answer with (e.g. 429, 500). */
  status?: number;
  /** Seconds, sent as Retry-After with a 429. */
  retryAfter?: number;
  /** A Slack error: HTTP 200 with {ok:false, error}. */
  error?: string;
  /** Delay before answering, in ms. */
  delayMs?: number;
  /** How many calls this fault applies to (default 1; Infinity for all). */
  times?: number;
}

type Handler = (params: Record<string, unknown>) => Record<string, unknown>;

export const TEAM_ID = 'T0ACME';
export const TEAM_NAME = 'Acme Bees';
export const BOT_USER_ID = 'UBOT0001';
export const BOT_TOKEN = 'xoxb-1111-2222-standinbottoken';

function parseParams(contentType: string | undefined, raw: string): Record<string, unknown> {
  if ((contentType ?? '').includes('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const params: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The Web API client JSON-encodes structured arguments (blocks, view, …) inside the form.
    if (/^[[{]/.test(value)) {
      try {
        params[key] = JSON.parse(value);
        continue;
      } catch {
        // keep the text
      }
    }
    params[key] = value === 'true' ? true : value === 'false' ? false : value;
  }
  return params;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class SlackStandIn {
  readonly calls: Call[] = [];
  readonly responseUrlPosts: ResponseUrlPost[] = [];
  readonly users = new Map<string, SlackUser>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly handlers = new Map<string, Handler>();
  private server: Server | undefined;
  private base = '';
  private viewCounter = 0;

  constructor() {
    this.handlers.set('auth.test', () => ({
      team_id: TEAM_ID,
      team: TEAM_NAME,
      user_id: BOT_USER_ID,
      bot_id: 'B0BOT',
      url: 'https://acme.slack.com/',
    }));
    this.handlers.set('users.info', (p) => {
      const user = this.users.get(String(p.user));
      return user ? { user } : { ok: false, error: 'user_not_found' };
    });
    this.handlers.set('conversations.open', (p) => ({ channel: { id: `D${String(p.users).slice(1)}` } }));
    this.handlers.set('chat.postMessage', (p) => ({ channel: p.channel, ts: `${Date.now() / 1000}` }));
    const view = (p: Record<string, unknown>) => {
      const id = typeof p.view_id === 'string' ? p.view_id : `V${++this.viewCounter}`;
      return { view: { ...(p.view as object), id, hash: randomBytes(4).toString('hex') } };
    };
    this.handlers.set('views.open', view);
    this.handlers.set('views.update', view);
    this.handlers.set('views.push', view);
  }

  /** Base URL for SLACK_API_URL, with its trailing slash. */
  get apiUrl(): string {
    return `${this.base}/api/`;
  }

  /** A fresh response_url pointing at the stand-in. */
  responseUrl(): string {
    return `${this.base}/response/${randomBytes(6).toString('hex')}`;
  }

  addUser(user: Partial<SlackUser> & { id: string }): SlackUser {
    const full: SlackUser = {
      team_id: TEAM_ID,
      name: user.id.toLowerCase(),
      real_name: `Person ${user.id}`,
      profile: {
        display_name: user.name ?? `person-${user.id.toLowerCase()}`,
        email: `${user.id.toLowerCase()}@example.com`,
      },
      ...user,
    };
    this.users.set(user.id, full);
    return full;
  }

  /** The next `times` calls to `method` fail as described. */
  fail(method: string, fault: Fault): void {
    const queue = this.faults.get(method) ?? [];
    queue.push({ times: 1, ...fault });
    this.faults.set(method, queue);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  on(method: string, handler: Handler): void {
    this.handlers.set(method, handler);
  }

  callsTo(method: string): Call[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** DMs sent to a user (conversations.open for them, then chat.postMessage to that channel). */
  dmsTo(slackUserId: string): Call[] {
    return this.callsTo('chat.postMessage').filter((c) => c.params.channel === `D${slackUserId.slice(1)}`);
  }

  reset(): void {
    this.calls.length = 0;
    this.responseUrlPosts.length = 0;
    this.faults.clear();
  }

  private takeFault(method: string): Fault | undefined {
    const queue = this.faults.get(method);
    const fault = queue?.[0];
    if (!fault) return undefined;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) queue?.shift();
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const raw = await readBody(req);
    if (url.pathname.startsWith('/response/')) {
      this.responseUrlPosts.push({ id: url.pathname.slice('/response/'.length), body: raw ? JSON.parse(raw) : {} });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const params = parseParams(req.headers['content-type'], raw);
    this.calls.push({ method, params, authorization: req.headers.authorization });
    const fault = this.takeFault(method);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.status) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify({ ok: false, error: fault.status === 429 ? 'ratelimited' : 'internal_error' }));
      return;
    }
    const body = fault?.error
      ? { ok: false, error: fault.error }
      : { ok: true, ...(this.handlers.get(method)?.(params) ?? {}) };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Waits until `check` returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
