// Access requests as operations, Slack faked: who may ask, the request's expiry job and the
// expiry itself (the end-to-end flow is test/slack/access-requests.test.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import type { Jobs } from '../../src/services/jobs.js';
import { decideRequest } from '../../src/services/operations/decide-request.js';
import { expireRequest } from '../../src/services/operations/expire-request.js';
import { REQUEST_LIFETIME_MS, requestAccess } from '../../src/services/operations/request-access.js';
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
});
