// The public pages' request counts, shared by every process through the database: a fixed window
// per key, the counts asked for in one turn of the event loop sent as one statement.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateCounts } from '../../src/services/rate-counts.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { TestClock } from '../support/fixtures.js';

const MINUTE = 60_000;

describe.each(backends)('rate counts on $name', (backend) => {
  let db: TestDatabase;
  let clock: TestClock;
  let counts: RateCounts;

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  beforeEach(async () => {
    await db.knex('rate_limits').del();
    clock = new TestClock();
    counts = new RateCounts({ knex: db.knex, now: clock.now });
  });

  const stored = async () =>
    Object.fromEntries(
      (await db.knex('rate_limits').select('key', 'points')).map((r) => [r.key as string, Number(r.points)]),
    );

  it('counts the keys asked for at once in one statement, each asker in its own place', async () => {
    await counts.count('page:address:10.0.0.1', MINUTE);
    const client = db.knex.client as { acquireConnection: () => Promise<unknown> };
    const acquired = vi.spyOn(client, 'acquireConnection');
    try {
      const answers = await Promise.all([
        counts.count('page:address:10.0.0.1', MINUTE),
        counts.count('page:link:abc', MINUTE),
        counts.count('page:address:10.0.0.1', MINUTE),
        counts.count('page:address:10.0.0.2', MINUTE),
        counts.count('page:address:10.0.0.1', MINUTE),
      ]);
      expect(acquired).toHaveBeenCalledTimes(1);
      expect(answers.map((a) => a.points)).toEqual([2, 1, 3, 1, 4]);
      const end = clock.now().getTime() + MINUTE;
      expect(answers.map((a) => a.resetsAt)).toEqual([end, end, end, end, end]);
    } finally {
      acquired.mockRestore();
    }
    expect(await stored()).toEqual({ 'page:address:10.0.0.1': 4, 'page:link:abc': 1, 'page:address:10.0.0.2': 1 });
  });

  it('starts a key again once its window ended, and keeps its window until then', async () => {
    const first = await counts.count('page:link:abc', MINUTE);
    clock.advance(59);
    expect(await counts.count('page:link:abc', MINUTE)).toEqual({ points: 2, resetsAt: first.resetsAt });
    clock.advance(1);
    const again = await counts.count('page:link:abc', MINUTE);
    expect(again).toEqual({ points: 1, resetsAt: clock.now().getTime() + MINUTE });
  });

  it('forgets counts an hour after their window ended, and keeps the others', async () => {
    await counts.count('page:address:old', MINUTE);
    clock.advance(3600);
    await counts.count('page:address:recent', MINUTE);
    clock.advance(61);
    expect(await counts.prune()).toBe(1);
    expect(await stored()).toEqual({ 'page:address:recent': 1 });
  });
});
