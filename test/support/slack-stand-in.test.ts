// The stand-in's channels, user groups, users.list, missing scopes, posts and rate limits, as
// @slack/web-api's WebClient sees them: the shapes the "invite a whole channel or user group"
// feature will read, checked here so that its tests can trust them.
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOT_TOKEN, BOT_USER_ID, SlackStandIn } from './slack-stand-in.js';

const standIn = new SlackStandIn();
let client: WebClient;

beforeAll(async () => {
  await standIn.start();
  client = new WebClient(BOT_TOKEN, {
    slackApiUrl: standIn.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
});

afterAll(() => standIn.stop());

beforeEach(() => {
  standIn.reset();
  standIn.channels.clear();
  standIn.usergroups.clear();
  standIn.users.clear();
});

/** The Slack error a call failed with (the WebClient throws on ok:false). */
async function slackErrorOf(call: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call;
  } catch (err) {
    const data = (err as { data?: Record<string, unknown> }).data;
    if (data) return data;
    throw err;
  }
  throw new Error('the call succeeded');
}

const ids = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);

describe('channels', () => {
  it('pages 2,500 members at limit 1000: everyone once, in order, three pages', async () => {
    const members = ids('U', 2_500);
    standIn.addChannel({ id: 'CBIG', members });
    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.conversations.members({ channel: 'CBIG', limit: 1000, ...(cursor ? { cursor } : {}) });
      seen.push(...(page.members ?? []));
      pages.push(page.members?.length ?? 0);
      cursor = page.response_metadata?.next_cursor;
      expect(typeof cursor).toBe('string');
    } while (cursor);
    expect(pages).toEqual([1000, 1000, 500]);
    expect(seen).toEqual(members);
  });

  it('gives 100 a page without a limit, and caps a page at 1000', async () => {
    standIn.addChannel({ id: 'CBIG', members: ids('U', 1_500) });
    expect((await client.conversations.members({ channel: 'CBIG' })).members).toHaveLength(100);
    expect((await client.conversations.members({ channel: 'CBIG', limit: 5000 })).members).toHaveLength(1000);
  });

  it('ends with an empty next_cursor', async () => {
    standIn.addChannel({ id: 'CSMALL', members: ['U1', 'U2'] });
    const page = await client.conversations.members({ channel: 'CSMALL' });
    expect(page.members).toEqual(['U1', 'U2']);
    expect(page.response_metadata).toEqual({ next_cursor: '' });
  });

  it('refuses a cursor it did not give', async () => {
    standIn.addChannel({ id: 'CSMALL', members: ['U1', 'U2'] });
    expect(await slackErrorOf(client.conversations.members({ channel: 'CSMALL', cursor: 'bm9wZTox' }))).toMatchObject({
      error: 'invalid_cursor',
    });
  });

  it('hides a private channel the bot is not in, and an unknown one', async () => {
    standIn.addChannel({ id: 'GSECRET', members: ['U1'], isPrivate: true, botIsMember: false });
    for (const channel of ['GSECRET', 'CNOWHERE']) {
      expect(await slackErrorOf(client.conversations.members({ channel }))).toMatchObject({
        ok: false,
        error: 'channel_not_found',
      });
      expect(await slackErrorOf(client.conversations.info({ channel }))).toMatchObject({ error: 'channel_not_found' });
    }
  });

  it('lists a public channel the bot is not in, and a private one it is in', async () => {
    standIn.addChannel({ id: 'COPEN', members: ['U1', 'U2'], botIsMember: false });
    standIn.addChannel({ id: 'GMINE', members: ['U3'], isPrivate: true });
    expect((await client.conversations.members({ channel: 'COPEN' })).members).toEqual(['U1', 'U2']);
    expect((await client.conversations.members({ channel: 'GMINE' })).members).toEqual(['U3']);
  });

  it('tells about a channel with conversations.info (num_members only when asked)', async () => {
    standIn.addChannel({
      id: 'CGEN',
      name: 'general',
      members: ['U1', 'U2', 'U3'],
      botIsMember: false,
      archived: true,
    });
    const { channel } = await client.conversations.info({ channel: 'CGEN', include_num_members: true });
    expect(channel).toMatchObject({
      id: 'CGEN',
      name: 'general',
      is_private: false,
      is_member: false,
      is_archived: true,
      num_members: 3,
    });
    const plain = await client.conversations.info({ channel: 'CGEN' });
    expect(plain.channel).not.toHaveProperty('num_members');
    expect(plain.channel).toMatchObject({ id: 'CGEN', is_member: false });
  });
});

describe('user groups', () => {
  it('lists a group’s users in one answer', async () => {
    standIn.addUsergroup({ id: 'S0DEVS', handle: 'devs', users: ['U1', 'W2'] });
    const answer = await client.usergroups.users.list({ usergroup: 'S0DEVS' });
    expect(answer.ok).toBe(true);
    expect(answer.users).toEqual(['U1', 'W2']);
    expect(answer.response_metadata?.next_cursor).toBeUndefined();
  });

  it('knows no other group', async () => {
    standIn.addUsergroup({ id: 'S0DEVS', handle: 'devs', users: ['U1'] });
    expect(await slackErrorOf(client.usergroups.users.list({ usergroup: 'S0OTHER' }))).toMatchObject({
      error: 'no_such_subteam',
    });
  });
});

describe('users.list', () => {
  it('pages over every user, capping a page at usersListPageCap', async () => {
    const all = ids('U', 450);
    for (const id of all) standIn.addUser({ id });
    standIn.addUser({ id: 'UGONE', deleted: true });
    standIn.addUser({ id: 'UROBOT', is_bot: true });
    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.users.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
      pages.push(page.members?.length ?? 0);
      seen.push(...(page.members ?? []).map((m) => String(m.id)));
      cursor = page.response_metadata?.next_cursor;
    } while (cursor);
    expect(pages).toEqual([200, 200, 52]);
    expect(seen).toEqual([...all, 'UGONE', 'UROBOT']);
  });

  it('gives whole users (their flags too), 100 a page without a limit', async () => {
    for (const id of ids('U', 150)) standIn.addUser({ id });
    standIn.addUser({ id: 'UGUEST', is_restricted: true, team_id: 'T0OTHER' });
    const first = await client.users.list({});
    expect(first.members).toHaveLength(100);
    const second = await client.users.list({ cursor: first.response_metadata?.next_cursor });
    expect(second.members).toHaveLength(51);
    expect(second.response_metadata?.next_cursor).toBe('');
    expect(second.members?.at(-1)).toMatchObject({ id: 'UGUEST', is_restricted: true, team_id: 'T0OTHER' });
  });
});

describe('missing scopes', () => {
  it('answers missing_scope for a method the install has no scope for, and only for it', async () => {
    standIn.addChannel({ id: 'CGEN', members: ['U1'] });
    standIn.missingScopes.add('conversations.members');
    const error = await slackErrorOf(client.conversations.members({ channel: 'CGEN' }));
    expect(error).toMatchObject({ ok: false, error: 'missing_scope', needed: 'channels:read' });
    expect(String(error.provided)).not.toContain('channels:read');
    expect(standIn.callsTo('conversations.members')[0]?.response).toMatchObject({ error: 'missing_scope' });
    expect((await client.conversations.info({ channel: 'CGEN' })).ok).toBe(true);
    standIn.reset();
    expect((await client.conversations.members({ channel: 'CGEN' })).members).toEqual(['U1']);
  });
});

describe('posts and conversations.history', () => {
  const metadata = { event_type: 'bulk_invitation', event_payload: { batch: 'b-1', invite: 7 } };

  it('posts to a user id into the DM with them, found by conversations.history', async () => {
    const posted = await client.chat.postMessage({ channel: 'U0ALICE', text: 'Welcome', metadata });
    expect(posted.channel).toBe('D0ALICE');
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(standIn.postsIn('D0ALICE')).toEqual([
      expect.objectContaining({ channel: 'D0ALICE', ts: posted.ts, text: 'Welcome', metadata }),
    ]);
    expect(standIn.dmsTo('U0ALICE')).toHaveLength(1);

    const bare = await client.conversations.history({ channel: 'D0ALICE' });
    expect(bare.messages).toEqual([
      expect.objectContaining({ type: 'message', ts: posted.ts, text: 'Welcome', bot_id: 'B0BOT', user: BOT_USER_ID }),
    ]);
    expect(bare.messages?.[0]).not.toHaveProperty('metadata');

    const full = await client.conversations.history({ channel: 'D0ALICE', include_all_metadata: true });
    expect(full.messages?.[0]?.metadata).toEqual(metadata);
  });

  it('takes metadata sent JSON-encoded as a string too, in a form or in a JSON body', async () => {
    await client.apiCall('chat.postMessage', { channel: 'D0BOB', text: 'hi', metadata: JSON.stringify(metadata) });
    const res = await fetch(`${standIn.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${BOT_TOKEN}` },
      body: JSON.stringify({ channel: 'D0BOB', text: 'again', metadata: JSON.stringify(metadata) }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'D0BOB' });
    expect(standIn.postsIn('D0BOB').map((p) => [p.text, p.metadata])).toEqual([
      ['hi', metadata],
      ['again', metadata],
    ]);
  });

  it('gives unique, increasing ts even within one millisecond, newest first in history', async () => {
    const sent = await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.chat.postMessage({ channel: 'CGEN', text: `n${i}` })),
    );
    const stamps = sent.map((s) => String(s.ts));
    expect(new Set(stamps).size).toBe(30);
    const history = await client.conversations.history({ channel: 'CGEN' });
    const listed = (history.messages ?? []).map((m) => String(m.ts));
    expect(listed).toHaveLength(30);
    expect(listed).toEqual([...stamps].sort((a, b) => Number(b) - Number(a)));
    const asNumbers = listed.map(Number);
    expect(asNumbers.every((n, i) => i === 0 || n < (asNumbers[i - 1] as number))).toBe(true);
  });

  it('filters by oldest and latest (exclusive, inclusive when asked) and pages', async () => {
    const ts: string[] = [];
    for (let i = 0; i < 5; i++) ts.push(String((await client.chat.postMessage({ channel: 'CLOG', text: `m${i}` })).ts));
    const between = await client.conversations.history({ channel: 'CLOG', oldest: ts[1], latest: ts[4] });
    expect(between.messages?.map((m) => m.text)).toEqual(['m3', 'm2']);
    const inclusive = await client.conversations.history({
      channel: 'CLOG',
      oldest: ts[1],
      latest: ts[4],
      inclusive: true,
    });
    expect(inclusive.messages?.map((m) => m.text)).toEqual(['m4', 'm3', 'm2', 'm1']);
    const first = await client.conversations.history({ channel: 'CLOG', limit: 2 });
    expect(first.messages?.map((m) => m.text)).toEqual(['m4', 'm3']);
    expect(first.has_more).toBe(true);
    const second = await client.conversations.history({
      channel: 'CLOG',
      limit: 2,
      cursor: first.response_metadata?.next_cursor,
    });
    expect(second.messages?.map((m) => m.text)).toEqual(['m2', 'm1']);
  });

  it('knows no unknown channel, and keeps posts from failed calls out', async () => {
    expect(await slackErrorOf(client.conversations.history({ channel: 'CNOWHERE' }))).toMatchObject({
      error: 'channel_not_found',
    });
    standIn.fail('chat.postMessage', { error: 'channel_not_found' });
    await slackErrorOf(client.chat.postMessage({ channel: 'CNEW', text: 'lost' }));
    expect(standIn.postsIn('CNEW')).toEqual([]);
  });

  it('will not post where the bot is not, nor in an archived channel', async () => {
    standIn.addChannel({ id: 'COPEN', members: ['U1'], botIsMember: false });
    standIn.addChannel({ id: 'COLD', members: ['U1'], archived: true });
    expect(await slackErrorOf(client.chat.postMessage({ channel: 'COPEN', text: 'x' }))).toMatchObject({
      error: 'not_in_channel',
    });
    expect(await slackErrorOf(client.chat.postMessage({ channel: 'COLD', text: 'x' }))).toMatchObject({
      error: 'is_archived',
    });
    expect(standIn.postsIn('COPEN')).toEqual([]);
  });
});

describe('a rate limit on one method', () => {
  it('answers 429 with Retry-After past N calls a second, and serves again after waiting', async () => {
    const N = 5;
    standIn.limitRate('conversations.members', N);
    standIn.addChannel({ id: 'CGEN', members: ['U1'] });
    const outcomes = await Promise.allSettled(
      Array.from({ length: N + 3 }, () => client.conversations.members({ channel: 'CGEN' })),
    );
    const served = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Record<string, unknown>] : []));
    // All N+3 calls arrive within one window unless the machine stalls past a second.
    expect(served).toHaveLength(N);
    expect(refused).toHaveLength(3);
    for (const err of refused) {
      expect(err.code).toBe(ErrorCode.RateLimitedError);
      expect(Number.isInteger(err.retryAfter)).toBe(true);
      expect(err.retryAfter).toBeGreaterThanOrEqual(1);
    }
    expect(standIn.rateLimited('conversations.members')).toBe(3);
    const recorded = standIn.callsTo('conversations.members');
    expect(recorded).toHaveLength(N + 3);
    expect(recorded.filter((c) => c.status === 429)).toHaveLength(3);
    expect(recorded.filter((c) => c.status === 429).map((c) => c.response)).toEqual(
      Array(3).fill({ ok: false, error: 'ratelimited' }),
    );
    expect(recorded.filter((c) => c.response?.ok === true)).toHaveLength(N);

    // Other methods are not limited.
    expect((await client.conversations.info({ channel: 'CGEN' })).ok).toBe(true);

    const wait = Math.max(...refused.map((err) => Number(err.retryAfter)));
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    expect((await client.conversations.members({ channel: 'CGEN' })).members).toEqual(['U1']);
    expect(standIn.rateLimited('conversations.members')).toBe(3);

    standIn.limitRate('conversations.members', 0);
    const unlimited = await Promise.all(
      Array.from({ length: N * 2 }, () => client.conversations.members({ channel: 'CGEN' })),
    );
    expect(unlimited.every((page) => page.ok)).toBe(true);
    expect(standIn.rateLimited('conversations.members')).toBe(3);
  }, 20_000);

  it('does not post a rate-limited chat.postMessage', async () => {
    standIn.limitRate('chat.postMessage', 1);
    await client.chat.postMessage({ channel: 'U0CAROL', text: 'first' });
    const err = await client.chat.postMessage({ channel: 'U0CAROL', text: 'second' }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe(ErrorCode.RateLimitedError);
    expect(standIn.postsIn('D0CAROL').map((p) => p.text)).toEqual(['first']);
    expect(standIn.dmsTo('U0CAROL')).toHaveLength(2);
    expect(standIn.rateLimited('chat.postMessage')).toBe(1);
  });

  it('counts a 429 from fail() as well', async () => {
    standIn.fail('users.list', { status: 429, retryAfter: 1 });
    const err = await client.users.list({}).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe(ErrorCode.RateLimitedError);
    expect(standIn.rateLimited('users.list')).toBe(1);
    expect(standIn.callsTo('users.list')[0]?.status).toBe(429);
  });
});
