// A local stand-in for Slack's Web API (pointed at with SLACK_API_URL) and for response_url.
// It answers like Slack, records every call, and fails on demand.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { SlackUser as BotSlackUser } from '../../src/slack/people.js';

/** A user as users.info shows them: the shape the bot reads, with an id always. */
export type SlackUser = BotSlackUser & { id: string };

export interface Call {
  method: string;
  params: Record<string, unknown>;
  authorization: string | undefined;
  /** What the stand-in answered (once it has). */
  response?: Record<string, unknown>;
  /** The HTTP status it answered with (once it has): 200, or a fault's, or 429 from `limitRate`. */
  status?: number;
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

/** A channel as `addChannel` makes it: who is in it, and whether the bot is. */
export interface ChannelSpec {
  id: string;
  name?: string;
  /** User ids, in the order conversations.members lists them. */
  members: string[];
  isPrivate?: boolean;
  /** Whether the app's bot user is in the channel (default true). */
  botIsMember?: boolean;
  archived?: boolean;
}

export interface StandInChannel {
  id: string;
  name: string;
  members: string[];
  isPrivate: boolean;
  botIsMember: boolean;
  archived: boolean;
}

/** A user group (subteam) as `addUsergroup` makes it. */
export interface Usergroup {
  id: string;
  handle: string;
  users: string[];
}

/** Slack's message metadata, as chat.postMessage takes it and conversations.history gives it back. */
export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

/** A message chat.postMessage posted (and Slack kept), as `postsIn` and conversations.history show it. */
export interface Post {
  /** The channel it landed in: D… for a post addressed to a user id. */
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown;
  metadata?: MessageMetadata;
  /** The poster: the bot of the calling token's workspace. */
  botId: string;
  botUserId: string;
}

/** Who made a call: the bearer token it carried, if any. */
export interface Caller {
  token: string | undefined;
}

type Handler = (params: Record<string, unknown>, caller: Caller) => Record<string, unknown>;

/** A workspace (or Enterprise Grid org) the app is installed in, as its bot token tells. */
export interface Workspace {
  teamId: string | null;
  teamName: string;
  enterpriseId?: string;
  enterpriseName?: string;
  isEnterpriseInstall?: boolean;
  botUserId: string;
  botId: string;
}

/** Someone on Slack's consent page: who installs, into which workspace or org. */
export interface Installing {
  user: string;
  team: string;
  teamName?: string;
  enterprise?: { id: string; name: string };
  /** An Enterprise Grid org-wide install (no single team). */
  orgWide?: boolean;
}

/** Someone on Slack's Sign in with Slack consent page. */
export interface SigningIn {
  user: string;
  team?: string;
  name?: string;
  email?: string;
}

export const TEAM_ID = 'T0ACME';
export const TEAM_NAME = 'Acme Bees';
export const BOT_USER_ID = 'UBOT0001';
export const BOT_TOKEN = 'xoxb-1111-2222-standinbottoken';
/** The app's Sign in with Slack credentials, as the stand-in knows them. */
export const CLIENT_ID = '1111.2222';
export const CLIENT_SECRET = 'stand-in-client-secret-0123456789';
export const APP_ID = 'A0CHATBEES';
/** The scopes an install grants (oauth.v2.access) and a missing_scope answer says were provided. */
export const INSTALL_SCOPES = 'commands,chat:write,im:write,users:read,users:read.email';
/** The scope a missing_scope answer says a method needed (as Slack names it for a bot token). */
const SCOPE_NEEDED: Record<string, string> = {
  'conversations.members': 'channels:read',
  'conversations.info': 'channels:read',
  'conversations.history': 'channels:history',
  'conversations.open': 'im:write',
  'usergroups.users.list': 'usergroups:read',
  'usergroups.list': 'usergroups:read',
  'users.list': 'users:read',
  'users.info': 'users:read',
  'users.lookupByEmail': 'users:read.email',
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
};

/** A user id (U… or W… on Enterprise Grid), as chat.postMessage's channel may be. */
const USER_ID = /^[UW][A-Z0-9]+$/;

/** A limit parameter: `fallback` when absent or not a positive number, at most `max`. */
function pageSize(raw: unknown, fallback: number, max: number): number {
  const n = raw === undefined || raw === '' ? Number.NaN : Math.floor(Number(raw));
  return Math.min(Number.isFinite(n) && n > 0 ? n : fallback, max);
}

/** An opaque cursor, as Slack's are (base64), for the item at `offset` of a listing of `kind`. */
function encodeCursor(kind: string, offset: number): string {
  return Buffer.from(`${kind}:${offset}`).toString('base64');
}

/** The offset a cursor points at (0 without one); undefined for one this listing did not issue. */
function decodeCursor(kind: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return 0;
  const match = /^(.+):(\d+)$/.exec(Buffer.from(String(raw), 'base64').toString('utf8'));
  return match && match[1] === kind ? Number(match[2]) : undefined;
}

/** One page of `items` from a cursor: Slack's `response_metadata.next_cursor` is '' on the last. */
function page<T>(
  items: T[],
  kind: string,
  cursor: unknown,
  size: number,
): { items: T[]; nextCursor: string } | undefined {
  const offset = decodeCursor(kind, cursor);
  if (offset === undefined) return undefined;
  const end = offset + size;
  return { items: items.slice(offset, end), nextCursor: end < items.length ? encodeCursor(kind, end) : '' };
}

/** A message ts ("1733000000.000123") in microseconds, exactly (a number would round). */
function tsMicros(ts: string): bigint | undefined {
  const match = /^(\d+)(?:\.(\d{0,6})\d*)?$/.exec(ts.trim());
  if (!match) return undefined;
  return BigInt(match[1] ?? '0') * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}

function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === 1 || value === '1';
}

/** Message metadata as chat.postMessage may get it: an object, or the same JSON-encoded. */
function metadataOf(raw: unknown): MessageMetadata | undefined {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { event_type, event_payload } = value as Record<string, unknown>;
  if (typeof event_type !== 'string') return undefined;
  return {
    event_type,
    event_payload:
      typeof event_payload === 'object' && event_payload !== null ? (event_payload as Record<string, unknown>) : {},
  };
}

function bearer(authorization: string | undefined): string | undefined {
  return authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
}

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

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The content of the first part of a multipart/form-data body. */
function firstPart(raw: string, boundary: string): string {
  const start = raw.indexOf(`--${boundary}`);
  const headersEnd = raw.indexOf('\r\n\r\n', start);
  const end = raw.indexOf(`\r\n--${boundary}`, headersEnd);
  return start < 0 || headersEnd < 0 || end < 0 ? raw : raw.slice(headersEnd + 4, end);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class SlackStandIn {
  readonly calls: Call[] = [];
  readonly responseUrlPosts: ResponseUrlPost[] = [];
  /** Files being uploaded (files.getUploadURLExternal), by id, with their bytes once posted. */
  private readonly uploads = new Map<string, { filename: string; length: number; content?: string }>();
  /** Files shared with files.completeUploadExternal: where, and what they hold. */
  readonly files: Array<{
    id: string;
    filename: string;
    title?: string;
    channel?: string;
    comment?: string;
    content: string;
  }> = [];
  private fileCounter = 0;
  /** DM channels (D…) whose posts Slack refuses, with its error (`refuseDmsTo`). */
  private readonly refusedDms = new Map<string, string>();
  /** How long a response_url post waits for its answer (recorded on arrival). */
  responseUrlDelayMs = 0;
  readonly users = new Map<string, SlackUser>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly handlers = new Map<string, Handler>();
  private server: Server | undefined;
  private base = '';
  private viewCounter = 0;
  /** Sign in with Slack: id_tokens waiting for their code to be exchanged. */
  private readonly idTokens = new Map<string, { idToken: string; clientId: string }>();
  private signingKey: CryptoKey | undefined;
  private jwks: { keys: JWK[] } = { keys: [] };
  /** Bot tokens Slack would accept, and the workspace each belongs to. */
  readonly tokens = new Map<string, Workspace>([
    [BOT_TOKEN, { teamId: TEAM_ID, teamName: TEAM_NAME, botUserId: BOT_USER_ID, botId: 'B0BOT' }],
  ]);
  /** OAuth install: codes waiting to be exchanged with oauth.v2.access. */
  private readonly installCodes = new Map<string, { clientId: string; redirectUri: string; who: Installing }>();
  private installCounter = 0;
  /** Who signs in on the consent page a real browser is sent to (GET /openid/connect/authorize). */
  browserSignIn: SigningIn | undefined;
  /** Channels `addChannel` made, by id (conversations.members, conversations.info, conversations.history). */
  readonly channels = new Map<string, StandInChannel>();
  /** User groups `addUsergroup` made, by id (usergroups.users.list). */
  readonly usergroups = new Map<string, Usergroup>();
  /**
   * Methods the install lacks the scope for: each answers {ok:false, error:'missing_scope',
   * needed, provided} (HTTP 200, as Slack does). Add e.g. 'conversations.members' for an install
   * without channels:read. Emptied by `reset`.
   */
  missingScopes = new Set<string>();
  /** users.list never gives more than this many people a page, whatever the limit asked (Slack caps pages). */
  usersListPageCap = 200;
  /** What chat.postMessage posted, by the channel it landed in, oldest first. Emptied by `reset`. */
  private readonly posts = new Map<string, Post[]>();
  /** DM channels that exist: opened with conversations.open or posted to. */
  private readonly dmChannels = new Set<string>();
  /** The last message ts given, in microseconds: every ts is later than the one before. */
  private lastTs = 0n;
  /** `limitRate`: per method, calls allowed a second and the current fixed window. */
  private readonly rateLimits = new Map<string, { perSecond: number; windowStart: number; admitted: number }>();
  /** HTTP 429s answered, per method (by `limitRate` and by `fail` with status 429). */
  private readonly tooMany = new Map<string, number>();

  constructor() {
    this.handlers.set('auth.test', (_p, caller) => {
      const workspace = caller.token === undefined ? undefined : this.tokens.get(caller.token);
      if (!workspace) return { ok: false, error: 'invalid_auth' };
      return {
        team_id: workspace.teamId ?? undefined,
        team: workspace.teamName,
        enterprise_id: workspace.enterpriseId,
        is_enterprise_install: workspace.isEnterpriseInstall === true,
        user_id: workspace.botUserId,
        bot_id: workspace.botId,
        url: 'https://acme.slack.com/',
      };
    });
    // The OAuth install: a code is good once, for the client and redirect URL it was issued to.
    this.handlers.set('oauth.v2.access', (p) => {
      const pending = this.installCodes.get(String(p.code));
      this.installCodes.delete(String(p.code));
      if (!pending || pending.clientId !== p.client_id || p.client_secret !== CLIENT_SECRET) {
        return { ok: false, error: 'invalid_code' };
      }
      if (p.redirect_uri !== undefined && p.redirect_uri !== pending.redirectUri) {
        return { ok: false, error: 'bad_redirect_uri' };
      }
      const { who } = pending;
      const n = ++this.installCounter;
      const token = `xoxb-${who.orgWide ? who.enterprise?.id : who.team}-${n}-${randomBytes(8).toString('hex')}`;
      const workspace: Workspace = {
        teamId: who.orgWide ? null : who.team,
        teamName: who.teamName ?? `Team ${who.team}`,
        enterpriseId: who.enterprise?.id,
        enterpriseName: who.enterprise?.name,
        isEnterpriseInstall: who.orgWide === true,
        botUserId: `UBOT${n}`,
        botId: `BBOT${n}`,
      };
      this.tokens.set(token, workspace);
      return {
        access_token: token,
        token_type: 'bot',
        scope: INSTALL_SCOPES,
        bot_user_id: workspace.botUserId,
        app_id: APP_ID,
        team: who.orgWide ? null : { id: who.team, name: workspace.teamName },
        enterprise: who.enterprise ?? null,
        is_enterprise_install: who.orgWide === true,
        authed_user: { id: who.user },
      };
    });
    // Slack's upload in three steps: a URL for the bytes (their length first), the bytes, then sharing.
    this.handlers.set('files.getUploadURLExternal', (p) => {
      const id = `F${String(++this.fileCounter).padStart(8, '0')}`;
      if (!p.filename || p.length === undefined) return { ok: false, error: 'invalid_arguments' };
      this.uploads.set(id, { filename: String(p.filename), length: Number(p.length) });
      return { upload_url: `${this.base}/upload/${id}`, file_id: id };
    });
    this.handlers.set('files.completeUploadExternal', (p) => {
      const list = (typeof p.files === 'string' ? JSON.parse(p.files) : p.files) as Array<{
        id: string;
        title?: string;
      }>;
      const shared = [];
      for (const file of list) {
        const upload = this.uploads.get(file.id);
        if (!upload || upload.content === undefined) return { ok: false, error: 'file_not_found' };
        if (Buffer.byteLength(upload.content) !== upload.length) return { ok: false, error: 'file_size_mismatch' };
        this.files.push({
          id: file.id,
          filename: upload.filename,
          title: file.title,
          channel: p.channel_id === undefined ? undefined : String(p.channel_id),
          comment: p.initial_comment === undefined ? undefined : String(p.initial_comment),
          content: upload.content,
        });
        shared.push({ id: file.id, title: file.title ?? upload.filename });
      }
      return { files: shared };
    });
    this.handlers.set('users.info', (p) => {
      const user = this.users.get(String(p.user));
      return user ? { user } : { ok: false, error: 'user_not_found' };
    });
    this.handlers.set('conversations.open', (p) => {
      const id = `D${String(p.users).slice(1)}`;
      this.dmChannels.add(id);
      return { channel: { id } };
    });
    // A post to a user id lands in the app's DM with them (Slack answers with the DM's id). A post
    // to a channel added with addChannel needs the bot in it and the channel not archived.
    this.handlers.set('chat.postMessage', (p, caller) => {
      const addressed = String(p.channel);
      const channel = USER_ID.test(addressed) ? `D${addressed.slice(1)}` : addressed;
      const known = this.channels.get(channel);
      if (known && !known.botIsMember)
        return { ok: false, error: known.isPrivate ? 'channel_not_found' : 'not_in_channel' };
      if (known?.archived) return { ok: false, error: 'is_archived' };
      const refused = this.refusedDms.get(channel);
      if (refused) return { ok: false, error: refused };
      const workspace = caller.token === undefined ? undefined : this.tokens.get(caller.token);
      const metadata = metadataOf(p.metadata);
      const post: Post = {
        channel,
        ts: this.nextTs(),
        ...(typeof p.text === 'string' ? { text: p.text } : {}),
        ...(p.blocks !== undefined ? { blocks: p.blocks } : {}),
        ...(metadata ? { metadata } : {}),
        botId: workspace?.botId ?? 'B0BOT',
        botUserId: workspace?.botUserId ?? BOT_USER_ID,
      };
      if (channel.startsWith('D')) this.dmChannels.add(channel);
      const kept = this.posts.get(channel) ?? [];
      kept.push(post);
      this.posts.set(channel, kept);
      return {
        channel: USER_ID.test(addressed) ? channel : p.channel,
        ts: post.ts,
        message: { ...this.messageOf(post, false), ...(post.metadata ? { metadata: post.metadata } : {}) },
      };
    });
    // The members of a channel, paged. Slack hides a private channel from a bot not in it
    // (channel_not_found); a public one it lists either way (channels:read).
    this.handlers.set('conversations.members', (p) => {
      const channel = this.visibleChannel(p.channel);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const got = page(channel.members, `members.${channel.id}`, p.cursor, pageSize(p.limit, 100, 1000));
      if (!got) return { ok: false, error: 'invalid_cursor' };
      return { members: got.items, response_metadata: { next_cursor: got.nextCursor } };
    });
    // num_members only with include_num_members=true, as Slack does.
    this.handlers.set('conversations.info', (p) => {
      const channel = this.visibleChannel(p.channel);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      return {
        channel: {
          id: channel.id,
          name: channel.name,
          is_channel: true,
          is_group: false,
          is_im: false,
          is_mpim: false,
          is_private: channel.isPrivate,
          is_member: channel.botIsMember,
          is_archived: channel.archived,
          ...(truthy(p.include_num_members) ? { num_members: channel.members.length } : {}),
        },
      };
    });
    this.handlers.set('usergroups.users.list', (p) => {
      const group = this.usergroups.get(String(p.usergroup));
      return group ? { users: [...group.users] } : { ok: false, error: 'no_such_subteam' };
    });
    // Everyone addUser added, paged: at most `usersListPageCap` a page, whatever the limit.
    this.handlers.set('users.list', (p) => {
      const size = Math.min(pageSize(p.limit, 100, 1000), this.usersListPageCap);
      const got = page([...this.users.values()], 'users', p.cursor, size);
      if (!got) return { ok: false, error: 'invalid_cursor' };
      return {
        members: got.items,
        cache_ts: Math.floor(Date.now() / 1000),
        response_metadata: { next_cursor: got.nextCursor },
      };
    });
    // What was posted in a channel, newest first, between oldest and latest (exclusive unless
    // inclusive=true); metadata only with include_all_metadata=true.
    this.handlers.set('conversations.history', (p) => {
      const id = String(p.channel);
      const channel = this.channels.get(id);
      if (channel ? channel.isPrivate && !channel.botIsMember : !this.dmChannels.has(id) && !this.posts.has(id)) {
        return { ok: false, error: 'channel_not_found' };
      }
      if (channel && !channel.botIsMember) return { ok: false, error: 'not_in_channel' };
      const inclusive = truthy(p.inclusive);
      const oldest = p.oldest === undefined || p.oldest === '' ? undefined : tsMicros(String(p.oldest));
      const latest = p.latest === undefined || p.latest === '' ? undefined : tsMicros(String(p.latest));
      if (oldest === undefined && p.oldest !== undefined && p.oldest !== '')
        return { ok: false, error: 'invalid_ts_oldest' };
      if (latest === undefined && p.latest !== undefined && p.latest !== '')
        return { ok: false, error: 'invalid_ts_latest' };
      const inRange = (post: Post) => {
        const at = tsMicros(post.ts) ?? 0n;
        if (oldest !== undefined && (inclusive ? at < oldest : at <= oldest)) return false;
        if (latest !== undefined && (inclusive ? at > latest : at >= latest)) return false;
        return true;
      };
      const newestFirst = (this.posts.get(id) ?? []).filter(inRange).reverse();
      const got = page(newestFirst, `history.${id}`, p.cursor, pageSize(p.limit, 100, 999));
      if (!got) return { ok: false, error: 'invalid_cursor' };
      const withMetadata = truthy(p.include_all_metadata);
      return {
        messages: got.items.map((post) => this.messageOf(post, withMetadata)),
        has_more: got.nextCursor !== '',
        pin_count: 0,
        response_metadata: { next_cursor: got.nextCursor },
      };
    });
    const view = (p: Record<string, unknown>) => {
      const id = typeof p.view_id === 'string' ? p.view_id : `V${++this.viewCounter}`;
      return { view: { ...(p.view as object), id, hash: randomBytes(4).toString('hex') } };
    };
    this.handlers.set('views.open', view);
    this.handlers.set('views.update', view);
    this.handlers.set('views.push', view);
    // A code is good once, for the client it was issued to, with that client's secret.
    this.handlers.set('openid.connect.token', (p) => {
      const issued = this.idTokens.get(String(p.code));
      this.idTokens.delete(String(p.code));
      if (!issued || issued.clientId !== p.client_id || p.client_secret !== CLIENT_SECRET) {
        return { ok: false, error: 'invalid_code' };
      }
      return { access_token: 'xoxp-openid-access', token_type: 'Bearer', id_token: issued.idToken };
    });
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

  /**
   * A channel for conversations.members, conversations.info and conversations.history (and
   * chat.postMessage's not_in_channel / is_archived). The bot is in it unless botIsMember is false.
   */
  addChannel(spec: ChannelSpec): StandInChannel {
    const channel: StandInChannel = {
      id: spec.id,
      name: spec.name ?? spec.id.toLowerCase(),
      members: [...spec.members],
      isPrivate: spec.isPrivate === true,
      botIsMember: spec.botIsMember !== false,
      archived: spec.archived === true,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** A user group for usergroups.users.list. */
  /** Slack refuses every post to this person's DM with `error` (say, cannot_dm_bot); undefined lifts it. */
  refuseDmsTo(slackUserId: string, error?: string): void {
    const channel = `D${slackUserId.slice(1)}`;
    if (error) this.refusedDms.set(channel, error);
    else this.refusedDms.delete(channel);
  }

  addUsergroup(group: Usergroup): Usergroup {
    const kept = { ...group, users: [...group.users] };
    this.usergroups.set(group.id, kept);
    return kept;
  }

  /** What chat.postMessage posted in a channel (a DM's is D…, also for posts addressed to U…), oldest first. */
  postsIn(channel: string): Post[] {
    return [...(this.posts.get(channel) ?? [])];
  }

  /**
   * Slack's rate limit on one method: past `perSecond` calls within a window, a call gets HTTP
   * 429 with Retry-After (whole seconds until the window ends, at least 1) and
   * {ok:false, error:'ratelimited'}, is not performed, and is recorded in `calls` with that
   * response and status 429. Windows are fixed, 1 s long: one starts at the first call after the
   * previous one ended (aligned to that call, not to the clock). All calls the limiter lets
   * through count, whatever they answer. `perSecond` 0 or undefined lifts the limit. Lifted by `reset`.
   */
  limitRate(method: string, perSecond?: number): void {
    if (!perSecond || perSecond <= 0) this.rateLimits.delete(method);
    else this.rateLimits.set(method, { perSecond, windowStart: Number.NEGATIVE_INFINITY, admitted: 0 });
  }

  /** How many HTTP 429s `method` was answered with (by `limitRate` or by `fail` with status 429). */
  rateLimited(method: string): number {
    return this.tooMany.get(method) ?? 0;
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

  /**
   * DMs sent to a user: chat.postMessage calls to their DM channel (after conversations.open) or
   * to their user id. Every call, answered or not (a faulted or rate-limited one too); what
   * Slack kept is `postsIn(\`D${id.slice(1)}\`)`.
   */
  dmsTo(slackUserId: string): Call[] {
    const dm = `D${slackUserId.slice(1)}`;
    return this.callsTo('chat.postMessage').filter((c) => c.params.channel === dm || c.params.channel === slackUserId);
  }

  /**
   * Forgets recorded calls, response_url posts, faults, posts (conversations.history), missing
   * scopes, rate limits and their 429 counts. Users, channels, user groups and tokens stay.
   */
  reset(): void {
    this.calls.length = 0;
    this.responseUrlPosts.length = 0;
    this.responseUrlDelayMs = 0;
    this.faults.clear();
    this.posts.clear();
    this.missingScopes.clear();
    this.refusedDms.clear();
    this.files.length = 0;
    this.rateLimits.clear();
    this.tooMany.clear();
  }

  /** A channel the bot may see: an added one, unless private without the bot in it. */
  private visibleChannel(id: unknown): StandInChannel | undefined {
    const channel = this.channels.get(String(id));
    return channel && (!channel.isPrivate || channel.botIsMember) ? channel : undefined;
  }

  /** A post as conversations.history shows it. */
  private messageOf(post: Post, withMetadata: boolean): Record<string, unknown> {
    return {
      type: 'message',
      ts: post.ts,
      text: post.text ?? '',
      user: post.botUserId,
      bot_id: post.botId,
      app_id: APP_ID,
      ...(post.blocks !== undefined ? { blocks: post.blocks } : {}),
      ...(withMetadata && post.metadata ? { metadata: post.metadata } : {}),
    };
  }

  /** A message ts: now, to the microsecond, and always later than the last one given. */
  private nextTs(): string {
    const now = BigInt(Date.now()) * 1000n;
    this.lastTs = now > this.lastTs ? now : this.lastTs + 1n;
    return `${this.lastTs / 1_000_000n}.${String(this.lastTs % 1_000_000n).padStart(6, '0')}`;
  }

  /** Under `limitRate`: undefined to let a call through, else the Retry-After seconds to answer. */
  private refusal(method: string): number | undefined {
    const limit = this.rateLimits.get(method);
    if (!limit) return undefined;
    const now = Date.now();
    if (now >= limit.windowStart + 1000) {
      limit.windowStart = now;
      limit.admitted = 0;
    }
    if (limit.admitted < limit.perSecond) {
      limit.admitted++;
      return undefined;
    }
    return Math.max(1, Math.ceil((limit.windowStart + 1000 - now) / 1000));
  }

  private countTooMany(method: string): void {
    this.tooMany.set(method, this.rateLimited(method) + 1);
  }

  private takeFault(method: string): Fault | undefined {
    const queue = this.faults.get(method);
    const fault = queue?.[0];
    if (!fault) return undefined;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) queue?.shift();
    return fault;
  }

  /**
   * Plays Slack's consent page: given the authorize URL the bot redirected to, the person signs
   * in as `who`; returns the URL Slack sends the browser back to (code and state). `claims`
   * overrides what the id_token says (a wrong audience, nonce, issuer…).
   */
  async signIn(
    authorizeUrl: string,
    who: SigningIn,
    claims: Record<string, unknown> = {},
    options: { key?: CryptoKey; expiresInSeconds?: number } = {},
  ): Promise<string> {
    const url = new URL(authorizeUrl);
    if (url.origin !== this.base || url.pathname !== '/openid/connect/authorize') {
      throw new Error(`not this stand-in's authorize URL: ${url.origin}${url.pathname}`);
    }
    return this.approveSignIn(url.searchParams, who, claims, options);
  }

  /** Issues a code (and the id_token it exchanges for) and returns redirect_uri with code and state. */
  private async approveSignIn(
    q: URLSearchParams,
    who: SigningIn,
    claims: Record<string, unknown>,
    options: { key?: CryptoKey; expiresInSeconds?: number },
  ): Promise<string> {
    const clientId = q.get('client_id') ?? '';
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({
      'https://slack.com/user_id': who.user,
      'https://slack.com/team_id': who.team ?? TEAM_ID,
      name: who.name ?? who.user.toLowerCase(),
      email: who.email ?? `${who.user.toLowerCase()}@example.test`,
      nonce: q.get('nonce'),
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'stand-in-key' })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : this.base)
      .setAudience(typeof claims.aud === 'string' ? claims.aud : clientId)
      .setSubject(who.user)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInSeconds ?? 300))
      .sign(options.key ?? (this.signingKey as CryptoKey));
    const code = randomBytes(12).toString('hex');
    this.idTokens.set(code, { idToken, clientId });
    const back = new URL(q.get('redirect_uri') ?? '');
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state') ?? '');
    return back.toString();
  }

  /**
   * Slack's consent page for a real browser (GET /openid/connect/authorize): a plain page whose
   * "Allow" button posts back to the same URL, which answers with a redirect to redirect_uri
   * (code and state), as `signIn` returns it. Who signs in is `browserSignIn`, set beforehand.
   */
  private async authorizePage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const q = url.searchParams;
    const who = this.browserSignIn;
    if (req.method === 'POST') {
      if (!who) {
        res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('stand-in: set browserSignIn before the browser signs in');
        return;
      }
      res.writeHead(302, { Location: await this.approveSignIn(q, who, {}, {}), 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to Slack (stand-in)</title></head>
<body>
<h1>Sign in to Slack</h1>
<p>${escapeText(q.get('client_id') ?? '')} would like to know who you are (${escapeText(q.get('scope') ?? '')}).</p>
<p>Signing in as <strong>${escapeText(who ? (who.name ?? who.user) : 'nobody (set browserSignIn)')}</strong>.</p>
<form method="post" action="${escapeText(url.pathname + url.search)}"><button type="submit">Allow</button></form>
</body>
</html>`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  }

  /**
   * Plays Slack's install consent page: given the authorize URL the bot's /slack/install page
   * links to, `who` approves; returns the URL Slack sends the browser back to (code and state).
   * `deny` plays the person pressing Cancel.
   */
  install(authorizeUrl: string, who: Installing, options: { deny?: boolean } = {}): string {
    const url = new URL(authorizeUrl);
    if (url.origin !== this.base || url.pathname !== '/oauth/v2/authorize') {
      throw new Error(`not this stand-in's install URL: ${url.origin}${url.pathname}`);
    }
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    const back = new URL(redirectUri);
    if (options.deny) {
      back.searchParams.set('error', 'access_denied');
    } else {
      const code = randomBytes(12).toString('hex');
      this.installCodes.set(code, { clientId: q.get('client_id') ?? '', redirectUri, who });
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', q.get('state') ?? '');
    return back.toString();
  }

  /** The bot token Slack issued for a workspace (or org) by installing, the latest first. */
  tokenOf(teamOrEnterpriseId: string): string | undefined {
    const found = [...this.tokens].reverse().find(([, w]) => (w.teamId ?? w.enterpriseId) === teamOrEnterpriseId);
    return found?.[0];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const raw = await readBody(req);
    if (url.pathname === '/openid/connect/authorize') return this.authorizePage(req, res, url);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname === '/openid/connect/keys') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(this.jwks));
      return;
    }
    // files.getUploadURLExternal's upload_url: the bytes of a file to be shared.
    if (url.pathname.startsWith('/upload/')) {
      const id = url.pathname.slice('/upload/'.length);
      const pending = this.uploads.get(id);
      if (!pending) {
        res.writeHead(404);
        res.end();
        return;
      }
      // The SDK posts the bytes as multipart/form-data (one part); raw bytes are accepted too.
      const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
      pending.content = boundary ? firstPart(raw, boundary[1] ?? boundary[2] ?? '') : raw;
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`OK - ${Buffer.byteLength(raw)}`);
      return;
    }
    if (url.pathname.startsWith('/response/')) {
      this.responseUrlPosts.push({ id: url.pathname.slice('/response/'.length), body: raw ? JSON.parse(raw) : {} });
      if (this.responseUrlDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.responseUrlDelayMs));
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const params = parseParams(req.headers['content-type'], raw);
    const call: Call = { method, params, authorization: req.headers.authorization };
    this.calls.push(call);
    const retryAfter = this.refusal(method);
    if (retryAfter !== undefined) {
      const refused = { ok: false, error: 'ratelimited' };
      call.response = refused;
      call.status = 429;
      this.countTooMany(method);
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(retryAfter) });
      res.end(JSON.stringify(refused));
      return;
    }
    const fault = this.takeFault(method);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.status) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
      call.status = fault.status;
      if (fault.status === 429) this.countTooMany(method);
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify({ ok: false, error: fault.status === 429 ? 'ratelimited' : 'internal_error' }));
      return;
    }
    const missingScope = !fault?.error && this.missingScopes.has(method);
    const body = fault?.error
      ? { ok: false, error: fault.error }
      : missingScope
        ? {
            ok: false,
            error: 'missing_scope',
            needed: SCOPE_NEEDED[method] ?? 'unknown',
            provided: INSTALL_SCOPES.split(',')
              .filter((scope) => scope !== SCOPE_NEEDED[method])
              .join(','),
          }
        : { ok: true, ...(this.handlers.get(method)?.(params, { token: bearer(req.headers.authorization) }) ?? {}) };
    call.response = body;
    call.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  /**
   * Starts listening on a free port. `host: 'localhost'` serves on http://localhost:PORT (on a
   * dual-stack socket, so ::1 and 127.0.0.1 both answer): another site than a bot on 127.0.0.1,
   * as Slack is for a browser (SameSite cookies tell sites apart, not ports).
   */
  async start(options: { host?: '127.0.0.1' | 'localhost' } = {}): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
    });
    const pair = await generateKeyPair('RS256');
    this.signingKey = pair.privateKey;
    this.jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'stand-in-key', alg: 'RS256', use: 'sig' }] };
    const server = this.server;
    const listen = (host: string, ipv6Only?: boolean) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host, ipv6Only }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    if (options.host === 'localhost') {
      // "::" without ipv6Only takes IPv4 too; a machine without IPv6 gets 127.0.0.1 only.
      await listen('::', false).catch(() => listen('127.0.0.1'));
    } else {
      await listen('127.0.0.1');
    }
    this.base = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
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

/** The registration link an invitation DM carries: the URL of its link button. */
export function linkButtonUrl(dm: Call): string {
  const raw = dm.params.blocks;
  const blocks = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ elements?: Array<{ url?: string }> }>;
  const url = blocks.flatMap((b) => b.elements ?? []).find((e) => e.url?.includes('/register/'))?.url;
  if (!url) throw new Error('the DM has no registration link button');
  return url;
}
