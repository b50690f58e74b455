// The hourly clean-ups the app schedules when its queue starts, and what each forgets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_SCHEMA } from '../../migrations/20261201_010_job_queue.js';
import { JOBS, startJobs } from '../../src/jobs/index.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { capture } from '../support/captured-logger.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { makeServices, TestClock } from '../support/fixtures.js';
import { waitFor } from '../support/slack-stand-in.js';

describe.each(backends)('scheduled clean-ups on $name', (backend) => {
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
});
