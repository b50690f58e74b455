// Request counts shared by every process (the public pages' rate limits): a fixed window per key,
// counted in the UNLOGGED `rate_limits` table (migrations 008, 017).
import type { Knex } from 'knex';
import { coalesced, prepared } from './db.js';

export interface Counted {
  /** Requests counted for the key in its window, this one included. */
  points: number;
  /** When the window ends (milliseconds since the epoch): the count starts again from there. */
  resetsAt: number;
}

/**
 * A batch of keys, each with how many to add and its window (ms), at $4 (ms): a key whose window
 * ended starts a new one. Keys are unique and in order, so processes counting the same keys take
 * their row locks in the same order.
 */
const COUNT_SQL = `INSERT INTO rate_limits AS r (key, points, expire)
  SELECT k, n, $4::bigint + w FROM unnest($1::text[], $2::int[], $3::bigint[]) AS t(k, n, w) ORDER BY k
  ON CONFLICT (key) DO UPDATE SET
    points = CASE WHEN r.expire IS NULL OR r.expire <= $4::bigint THEN excluded.points ELSE r.points + excluded.points END,
    expire = CASE WHEN r.expire IS NULL OR r.expire <= $4::bigint THEN excluded.expire ELSE r.expire END
  RETURNING key, points, expire`;

type Ask = { key: string; windowMs: number };

export class RateCounts {
  private readonly counted = coalesced<Ask, Counted>((asks) => this.countAll(asks));

  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /**
   * Counts one request for `key` in a window of `windowMs`. The counts asked for in the same turn
   * of the event loop go as one statement (each page view counted one or two, a statement each
   * through rate-limiter-flexible: under load most of a page's cost); each caller gets its own
   * place in its key's count.
   */
  count(key: string, windowMs: number): Promise<Counted> {
    return this.counted({ key, windowMs });
  }

  private async countAll(asks: Ask[]): Promise<Counted[]> {
    // Each key once, with how many ask for it (a key's window is the first asker's).
    const keys = new Map<string, { n: number; windowMs: number }>();
    for (const { key, windowMs } of asks) {
      const seen = keys.get(key);
      if (seen) seen.n++;
      else keys.set(key, { n: 1, windowMs });
    }
    const sorted = [...keys.keys()].sort();
    const rows = await prepared(this.deps.knex, 'rate_counts', COUNT_SQL, [
      sorted,
      sorted.map((k) => keys.get(k)?.n),
      sorted.map((k) => keys.get(k)?.windowMs),
      this.deps.now().getTime(),
    ]);
    const totals = new Map(
      rows.map((r) => [r.key as string, { points: Number(r.points), resetsAt: Number(r.expire) }]),
    );
    // The askers of a key take its count in the order they asked: the last one sees the total.
    const handed = new Map<string, number>();
    return asks.map(({ key }) => {
      const total = totals.get(key);
      const n = keys.get(key)?.n ?? 1;
      if (!total) throw new Error('rate count: a key came back without its count');
      const before = handed.get(key) ?? 0;
      handed.set(key, before + 1);
      return { points: total.points - n + before + 1, resetsAt: total.resetsAt };
    });
  }

  /** Forgets counts whose window ended more than `afterSeconds` ago. */
  async prune(afterSeconds = 3600): Promise<number> {
    const cutoff = this.deps.now().getTime() - afterSeconds * 1000;
    return Number(await this.deps.knex('rate_limits').where('expire', '<', cutoff).orWhereNull('expire').del());
  }
}
