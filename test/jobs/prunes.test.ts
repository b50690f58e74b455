// The hourly clean-ups the app schedules when its queue starts, and what each forgets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_SCHEMA } from '../../migrations/20261201_010_job_queue.js';
import { JOBS, startJobs } from '../../src/jobs/index.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { listMembers } from '../../src/services/operations/list-members.js';
import { capture } from '../support/captured-logger.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount, TestClock } from '../support/fixtures.js';
import { waitFor } from '../support/slack-stand-in.js';

describe.each(backends)('scheduled clean-ups and jobs on $name', (backend) => {
  let db: TestDatabase;
  let queue: JobQueue;

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await queue?.stop(1_000);
    await db?.close();
  });

  it('schedules the prunes hourly, and the rate counts one forgets counts an hour past their window', async () => {
    const clock = new TestClock();
    const services = makeServices(db.knex, clock);
    queue = new JobQueue(db.knex, capture().logger, { pollingIntervalSeconds: 0.5 });
    await startJobs(queue, services, capture().logger);
    const schedules = await db.knex(`${QUEUE_SCHEMA}.schedule`).select('name', 'cron').orderBy('name');
    expect(schedules).toEqual([
      { name: JOBS.pruneRateCounts, cron: '47 * * * *' },
      { name: JOBS.pruneRequestClaims, cron: '17 * * * *' },
    ]);
    const now = clock.now().getTime();
    await db.knex('rate_limits').insert([
      { key: 'page:address:old', points: 3, expire: now - 3_601_000 },
      { key: 'page:address:lately', points: 1, expire: now - 3_599_000 },
    ]);
    await queue.send(JOBS.pruneRateCounts, {});
    await waitFor(
      async () => (await db.knex('rate_limits').where({ key: 'page:address:old' })).length === 0,
      10_000,
      'the old count to go',
    );
    expect(await db.knex('rate_limits').pluck('key')).toEqual(['page:address:lately']);
  });

  it('builds the anchors of the member pages when a deep page without them asks (member-anchors)', async () => {
    // The queue of the test above, its jobs started: the services here queue through it.
    const services = makeServices(db.knex, new TestClock(), undefined, undefined, { jobs: queue });
    const account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADMIN', displayName: 'Ada Admin' }]);
    await insertMembers(
      db.knex,
      account,
      Array.from({ length: 449 }, (_, i) => ({ slackUserId: `UJOB${String(i).padStart(4, '0')}` })),
    );
    const page = await listMembers(services, actor(account, 'UADMIN'), { limit: 25, page: 15 });
    expect(page.ok && page.members).toHaveLength(25);
    await waitFor(
      async () => (await db.knex('member_anchors').where({ account_id: account.id })).length === 3,
      10_000,
      'the anchors at 0, 200 and 400',
    );
  });
});
