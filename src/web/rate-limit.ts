// Request limits of the public pages, per client address and per registration link, counted in
// the database (services' RateCounts, in the table migration 008 made) so that every process sees
// the same counts. When the database fails or is slow, each process counts in its own memory for
// a while (rate-limiter-flexible's memory limiter) rather than letting floods through or making
// every page wait for the database.
import { isIP } from 'node:net';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../logger.js';
import type { Counted } from '../services/rate-counts.js';

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface Limiter {
  take(key: string): Promise<Admission>;
}

/** Where the shared counts are kept (services.rateCounts). */
export interface SharedCounts {
  count(key: string, windowMs: number): Promise<Counted>;
}

/** The table migration 008 makes. */
export const RATE_LIMIT_TABLE = 'rate_limits';
/** How long a page waits for the shared count before counting in memory. */
const STORE_TIMEOUT_MS = 500;
/** After the shared count failed or was slow, how long to count in memory without asking it. */
const STORE_PAUSE_MS = 10_000;
/** Keys refused until their window ends, remembered in memory; past this many, the ended ones go. */
const BLOCKED_KEPT = 10_000;

class StoreTimeout extends Error {}

const refused = (msLeft: number): Admission => ({
  ok: false,
  retryAfterSeconds: Math.max(1, Math.ceil(msLeft / 1000)),
});

/**
 * `points` requests per `durationSeconds` for each key, named apart by `name`; undefined for no
 * limit (`points` 0). A key past its limit is refused from memory until its window ends, so a
 * flood costs the database one count per window and process, not one per request.
 */
export function sharedLimiter(
  counts: SharedCounts,
  logger: Logger,
  options: { name: string; points: number; durationSeconds: number; now?: () => Date },
): Limiter | undefined {
  if (options.points <= 0) return undefined;
  // The counts' clock (the windows end by it).
  const now = () => (options.now ? options.now().getTime() : Date.now());
  const windowMs = options.durationSeconds * 1000;
  const local = new RateLimiterMemory({
    keyPrefix: options.name,
    points: options.points,
    duration: options.durationSeconds,
  });
  const blocked = new Map<string, number>();
  let sharedPausedUntil = 0;

  const countShared = (key: string) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeout()), STORE_TIMEOUT_MS);
    });
    return Promise.race([counts.count(`${options.name}:${key}`, windowMs), late]).finally(() => clearTimeout(timer));
  };

  const block = (key: string, until: number) => {
    if (blocked.size >= BLOCKED_KEPT) {
      const at = now();
      for (const [k, end] of blocked) if (end <= at) blocked.delete(k);
      if (blocked.size >= BLOCKED_KEPT) blocked.clear();
    }
    blocked.set(key, until);
  };

  const countLocal = async (key: string): Promise<Admission> => {
    try {
      await local.consume(key);
      return { ok: true };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      return refused(err.msBeforeNext);
    }
  };

  return {
    async take(key) {
      const until = blocked.get(key);
      if (until !== undefined) {
        if (until > now()) return refused(until - now());
        blocked.delete(key);
      }
      if (Date.now() < sharedPausedUntil) return countLocal(key);
      let counted: Counted;
      try {
        counted = await countShared(key);
      } catch (err) {
        if (Date.now() >= sharedPausedUntil) {
          logger.warn(
            { limit: options.name, error: err instanceof StoreTimeout ? 'no answer in time' : (err as Error).message },
            'page rate limits: the database did not count; counting in this process for now',
          );
        }
        sharedPausedUntil = Date.now() + STORE_PAUSE_MS;
        return countLocal(key);
      }
      if (counted.points <= options.points) return { ok: true };
      block(key, counted.resetsAt);
      return refused(counted.resetsAt - now());
    },
  };
}

/** An address as a proxy may write it, without brackets or port; undefined when it is none. */
function bareAddress(entry: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  const withPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(entry);
  const address = bracketed?.[1] ?? withPort?.[1] ?? entry;
  return isIP(address.split('%')[0] as string) ? address : undefined;
}

/**
 * The client's address: the socket's, or, behind `trustedHops` proxies, the address the
 * outermost trusted proxy saw. Entries further left can be forged; so can a chain shorter than
 * the trusted hops (the client reached us without passing them all), and an entry that is no
 * address: the socket's address then.
 */
export function clientAddress(
  headers: Record<string, string | string[] | undefined>,
  socketAddress: string | undefined,
  trustedHops: number,
): string {
  const direct = socketAddress ?? 'unknown';
  if (trustedHops <= 0) return direct;
  const header = headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (chain.length < trustedHops) return direct;
  return bareAddress(chain[chain.length - trustedHops] as string) ?? direct;
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 counts as two). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0] as string;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parts = (s: string) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = parts(head);
  const right = tail === undefined ? [] : parts(tail);
  return tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
}

/**
 * What a client is counted as: its IPv4 address (however IPv6 wraps it), or the /64 of an IPv6
 * one (a single host usually holds a whole /64, and could otherwise take a fresh address per
 * request).
 */
export function limitKey(address: string): string {
  if (isIP(address.split('%')[0] as string) !== 6) return address;
  const g = ipv6Groups(address);
  const upperZero = g.slice(0, 5).every((x) => x === 0);
  // ::ffff:a.b.c.d (IPv4-mapped, any spelling) and ::a.b.c.d (IPv4-compatible, obsolete).
  if (upperZero && (g[5] === 0xffff || (g[5] === 0 && (g[6] ?? 0) > 0))) {
    const [hi = 0, lo = 0] = g.slice(6);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}
