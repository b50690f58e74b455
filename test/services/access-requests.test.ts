// Access requests as operations, Slack faked: who may ask, the request's expiry job and the
// expiry itself, the requests channel, a denial's reason and the list of open ones (the end-to-end flow is test/slack/access-requests.test.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import type { Jobs } from '../../src/services/jobs.js';
import { decideRequest } from '../../src/services/operations/decide-request.js';
import { expireRequest } from '../../src/services/operations/expire-request.js';
import { listInvites } from '../../src/services/operations/list-invites.js';
import { listRequests } from '../../src/services/operations/list-requests.js';
import {
  ASK_AGAIN_AFTER_MS,
  MAX_REASON_LENGTH,
  REQUEST_LIFETIME_MS,
  requestAccess,
} from '../../src/services/operations/request-access.js';
import { requestsChannelOf, setRequestsChannel } from '../../src/services/operations/requests-channel.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import {
  actor,
  FakeDirectory,
  insertMembers,
  makeServices,
  newAccount,
  RecordingNotifier,
  TestClock,
} from '../support/fixtures.js';

describe.each(backends)('access requests (operations) on $name', (backend) => {
  let db: TestDatabase;
  let services: Services;
  let notifier: RecordingNotifier;
  let directory: FakeDirectory;
  let clock: TestClock;
  let account: Account;
  const queued: Array<{ name: string; data: unknown; at?: Date }> = [];
  const jobs: Jobs = {
    async later(_db, name, data, startAfter) {
      queued.push({ name, data, at: startAfter });
    },
  };

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    queued.length = 0;
    clock = new TestClock();
    notifier = new RecordingNotifier();
    directory = new FakeDirectory();
    services = makeServices(db.knex, clock, undefined, directory, { notifier, jobs });
    account = await newAccount(services);
    await insertMembers(db.knex, account, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin' }]);
  });

  it('refuses people of another org and those Slack does not know; guests may ask, and say so', async () => {
    directory.users.set('UOUT', { teamId: 'TOTHER', enterpriseId: 'EOTHER' });
    directory.users.set('UGHOST', 'unknown');
    directory.users.set('UGUEST', { guest: true });
    expect(await requestAccess(services, { account, slackUserId: 'UOUT' })).toMatchObject({
      reason: 'not_in_workspace',
    });
    expect(await requestAccess(services, { account, slackUserId: 'UGHOST' })).toMatchObject({
      reason: 'not_in_workspace',
    });
    const guest = await requestAccess(services, { account, slackUserId: 'UGUEST', reason: 'contractor' });
    expect(guest).toMatchObject({ ok: true, request: { guest: true, reason: 'contractor' }, adminsTold: 1 });
    expect(notifier.to('UADMIN1')).toEqual([expect.objectContaining({ kind: 'access_request' })]);
  });

  it('queues its expiry at seven days; expired, the person is told once and a decision no longer counts', async () => {
    const asked = await requestAccess(services, { account, slackUserId: 'UBOB' });
    if (!asked.ok) throw new Error(asked.reason);
    expect(queued).toEqual([
      {
        name: 'access-request-expiry',
        data: { requestId: asked.request.id },
        at: new Date(clock.now().getTime() + REQUEST_LIFETIME_MS),
      },
    ]);
    expect(await expireRequest(services, { requestId: asked.request.id })).toEqual({ expired: true });
    expect(await expireRequest(services, { requestId: asked.request.id })).toEqual({ expired: false });
    expect(notifier.to('UBOB')).toEqual([{ kind: 'access_expired' }]);
    const late = await decideRequest(services, actor(account, 'UADMIN1'), {
      requestId: asked.request.id,
      decision: 'approved',
    });
    expect(late).toMatchObject({ ok: false, reason: 'request_decided', decided: { decision: 'expired' } });
    // Expired, they may ask again at once.
    expect(await requestAccess(services, { account, slackUserId: 'UBOB' })).toMatchObject({ ok: true });
  });

  it('does not expire a request decided first', async () => {
    const asked = await requestAccess(services, { account, slackUserId: 'UBOB' });
    if (!asked.ok) throw new Error(asked.reason);
    await decideRequest(services, actor(account, 'UADMIN1'), { requestId: asked.request.id, decision: 'denied' });
    expect(await expireRequest(services, { requestId: asked.request.id })).toEqual({ expired: false });
    const row = await db.knex('access_requests').where({ id: asked.request.id }).first();
    expect(row.status).toBe('denied');
  });

  it('goes to the requests channel an admin chose, after a line posted there proves the app can; refused choices change nothing', async () => {
    await insertMembers(db.knex, account, [{ slackUserId: 'UCAROL', role: 'AccountUser' }]);
    expect(await setRequestsChannel(services, actor(account, 'UCAROL'), { channel: 'CREQ' })).toMatchObject({
      reason: 'not_admin',
    });
    notifier.failing.set('CNOTIN', 'not_in_channel');
    expect(await setRequestsChannel(services, actor(account, 'UADMIN1'), { channel: 'CNOTIN' })).toMatchObject({
      reason: 'not_in_channel',
    });
    expect(await requestsChannelOf(services, account.id)).toBeUndefined();
    expect(await setRequestsChannel(services, actor(account, 'UADMIN1'), { channel: 'CREQ' })).toEqual({
      ok: true,
      place: { channel: 'CREQ', chosen: true },
      changed: true,
    });
    expect(notifier.posted).toEqual([{ channel: 'CREQ', notice: { kind: 'requests_channel_set', by: 'UADMIN1' } }]);
    const asked = await requestAccess(services, { account, slackUserId: 'UBOB' });
    expect(asked).toMatchObject({ ok: true, channel: 'CREQ', adminsTold: 0 });
    expect(notifier.posted.at(-1)).toMatchObject({ channel: 'CREQ', notice: { kind: 'access_request' } });
    expect(notifier.to('UADMIN1')).toEqual([]);
    // The copy in the channel is the one changed once decided.
    if (!asked.ok) throw new Error(asked.reason);
    await decideRequest(services, actor(account, 'UADMIN1'), { requestId: asked.request.id, decision: 'approved' });
    expect(notifier.updated.map((u) => u.at.channel)).toEqual(['CREQ']);
  });

  it("falls back to the admins' DMs when the channel refuses the post; ACCESS_REQUESTS_CHANNEL is the default in single-workspace mode only", async () => {
    const single = makeServices(db.knex, clock, undefined, directory, { notifier, jobs, requestsChannel: 'CDEF' });
    expect(await requestsChannelOf(single, account.id)).toBe('CDEF');
    notifier.failing.set('CDEF', 'not_in_channel');
    expect(await requestAccess(single, { account, slackUserId: 'UBOB' })).toMatchObject({ ok: true, adminsTold: 1 });
    expect(notifier.to('UADMIN1')).toEqual([expect.objectContaining({ kind: 'access_request' })]);
    const multi = makeServices(db.knex, clock, undefined, directory, {
      notifier,
      jobs,
      requestsChannel: 'CDEF',
      multiWorkspace: true,
    });
    expect(await requestsChannelOf(multi, account.id)).toBeUndefined();
  });

  it('a denial keeps its reason (trimmed, at most 500 characters) and passes it on; an approval has none', async () => {
    const asked = await requestAccess(services, { account, slackUserId: 'UBOB' });
    if (!asked.ok) throw new Error(asked.reason);
    const long = `  ${'x'.repeat(600)}  `;
    expect(
      await decideRequest(services, actor(account, 'UADMIN1'), {
        requestId: asked.request.id,
        decision: 'denied',
        reason: long,
      }),
    ).toMatchObject({ ok: true, decision: 'denied', requester: 'UBOB' });
    const row = await db.knex('access_requests').where({ id: asked.request.id }).first();
    expect(row.deny_reason).toBe('x'.repeat(MAX_REASON_LENGTH));
    expect(notifier.to('UBOB')).toEqual([
      { kind: 'access_decided', decision: 'denied', by: 'UADMIN1', reason: 'x'.repeat(MAX_REASON_LENGTH) },
    ]);
    const [entry] = await db.knex('audit_log').where({ action: 'access.denied', account_id: account.id });
    expect(entry.after).toEqual({ status: 'denied', reason: 'x'.repeat(MAX_REASON_LENGTH) });

    await clock.advance(ASK_AGAIN_AFTER_MS / 1000 + 1);
    const again = await requestAccess(services, { account, slackUserId: 'UBOB' });
    if (!again.ok) throw new Error(again.reason);
    await decideRequest(services, actor(account, 'UADMIN1'), {
      requestId: again.request.id,
      decision: 'approved',
      reason: 'ignored',
    });
    expect((await db.knex('access_requests').where({ id: again.request.id }).first()).deny_reason).toBeNull();
  });

  it('lists the open requests oldest first with how many are open, for admins only; one asked from an expired invitation names it', async () => {
    await insertMembers(db.knex, account, [{ slackUserId: 'UCAROL', role: 'AccountUser' }]);
    const invite = await services.invites.create(actor(account, 'UADMIN1'), { forSlackUserId: 'UDAN' });
    if (!invite.ok) throw new Error(invite.reason);
    await requestAccess(services, { account, slackUserId: 'UBOB', reason: 'first' });
    await clock.advance(8 * 86_400);
    // Someone else's invitation is not named; their own expired one is.
    await requestAccess(services, { account, slackUserId: 'UERIN', fromInvite: invite.invite.id });
    await clock.advance(60);
    await requestAccess(services, { account, slackUserId: 'UDAN', fromInvite: invite.invite.id });
    expect(notifier.to('UADMIN1').at(-1)).toMatchObject({
      kind: 'access_request',
      request: { slackUserId: 'UDAN', expiredInvite: { createdBy: 'UADMIN1', expiresAt: invite.invite.expiresAt } },
    });
    const listed = await listRequests(services, actor(account, 'UADMIN1'));
    if (!listed.ok) throw new Error(listed.reason);
    expect(listed.open).toBe(3);
    expect(listed.requests.map((r) => [r.slackUserId, r.reason, r.expiredInvite?.createdBy ?? null])).toEqual([
      ['UBOB', 'first', null],
      ['UERIN', null, null],
      ['UDAN', null, 'UADMIN1'],
    ]);
    expect(await listRequests(services, actor(account, 'UCAROL'))).toMatchObject({ ok: false, reason: 'not_admin' });
    expect(await listRequests(services, actor(account, 'UNOBODY'))).toMatchObject({ ok: false, reason: 'not_member' });
    // The console's count comes with its invites, in the same statement, for admins only.
    expect(await listInvites(services, actor(account, 'UADMIN1'), { openRequests: true })).toMatchObject({
      ok: true,
      openRequests: 3,
    });
    expect(await listInvites(services, actor(account, 'UADMIN1'))).not.toHaveProperty('openRequests');
    expect(await listInvites(services, actor(account, 'UCAROL'), { openRequests: true })).toMatchObject({
      ok: false,
      reason: 'not_admin',
    });
  });
});
