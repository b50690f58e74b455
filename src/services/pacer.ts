// The pace of many calls to one rate-limited Slack method (a bulk invitation's DMs): it learns
// the limit it meets rather than assuming one. It starts slow and doubles its rate each second
// until Slack first says 429. A 429 sets the ceiling (what got through in Slack's last window),
// waits Retry-After and drops to 85 % of it; the rate climbs back quickly to 97 % of the ceiling,
// then creeps up 0.1 % a second, so it runs just under the limit, meets it seldom, and finds a
// higher one in time. Its state only makes sending faster: nothing correct depends on it.

export interface PacerOptions {
  /** Calls a second to start with. */
  start?: number;
  /** Never slower than this, nor faster than `max`. */
  min?: number;
  max?: number;
  /** Climb back to this share of the rate Slack last refused, then creep. */
  backoff?: number;
  /** Right after a 429: this share of what got through in the last second. */
  drop?: number;
  /** Growth a second once the limit was met (0.001: 0.1 % a second, 6 % a minute). */
  creep?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Pacer {
  /** Calls a second now. */
  rate: number;
  private readonly min: number;
  private readonly max: number;
  private readonly backoff: number;
  /** Right after a 429: this share of the ceiling, to let the window drain. */
  private readonly drop: number;
  private readonly creep: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** When the next call may go. */
  private nextAt = 0;
  /** No call before this (Slack's Retry-After). */
  private pausedUntil = 0;
  /** When the last pause ended: Slack's window started again then. */
  private resumedAt = 0;
  /** Doubling each second until the first 429. */
  private slowStart = true;
  /** The rate Slack last refused: climbed back to quickly, passed slowly. */
  private ceiling = Number.POSITIVE_INFINITY;
  private lastGrowth = 0;
  /** When recent calls succeeded, for "what got through in the last second". */
  private readonly successes: number[] = [];
  /** 429s, counted for the figures. */
  limited = 0;

  constructor(options: PacerOptions = {}) {
    this.rate = options.start ?? 10;
    this.min = options.min ?? 1;
    this.max = options.max ?? 1_000;
    this.backoff = options.backoff ?? 0.97;
    this.drop = options.drop ?? 0.85;
    this.creep = options.creep ?? 0.001;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Resolves when the next call may go (the calls keep their order). */
  async take(): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.nextAt, this.pausedUntil);
    this.nextAt = at + 1000 / this.rate;
    if (at > now) await this.sleep(at - now);
  }

  /** A call went through. */
  ok(): void {
    const now = this.now();
    this.successes.push(now);
    while (this.successes.length > 0 && (this.successes[0] as number) < now - 1000) this.successes.shift();
    if (this.lastGrowth === 0) this.lastGrowth = now;
    if (now - this.lastGrowth < 1000) return;
    const seconds = Math.min(5, (now - this.lastGrowth) / 1000);
    this.lastGrowth = now;
    const near = this.ceiling * this.backoff;
    this.rate = Math.min(
      this.max,
      this.slowStart
        ? this.rate * 2
        : this.rate < near
          ? Math.min(near, this.rate * 1.05 ** seconds)
          : this.rate * (1 + this.creep) ** seconds,
    );
  }

  /** Slack said 429: no call before Retry-After, and a rate under what got through. */
  tooMany(retryAfterSeconds: number): void {
    this.limited += 1;
    const now = this.now();
    const until = now + Math.max(0, retryAfterSeconds) * 1000;
    // Several calls in flight meet the same limit: the first 429 sets the pause and the rate; the
    // others, answered while it lasts, were sent before it and change nothing.
    if (now >= this.pausedUntil) {
      // Within a second of the last pause, Slack's window began when it ended: what got through
      // since is the limit itself. Otherwise the last second tells (an over-estimate at worst).
      const since = now - this.resumedAt <= 1000 ? this.resumedAt : now - 1000;
      const through = this.successes.filter((t) => t >= since).length;
      // Too few got through to tell (the window was full before these calls began): halve.
      this.ceiling = through >= 5 ? Math.min(this.rate, through) : this.rate / 2;
      this.rate = Math.max(this.min, this.ceiling * this.drop);
      this.slowStart = false;
      this.lastGrowth = until;
      this.resumedAt = until;
    }
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.nextAt = Math.max(this.nextAt, this.pausedUntil);
  }
}
