// Request limits of the public pages, per client address and per registration link, counted in
// the database (rate-limiter-flexible's PostgreSQL store, its table made by migration 008) so
// that every process sees the same counts; while the database cannot be reached, each process
// counts in its own memory (the library's insurance limiter) rather than letting floods through.
import { isIPv6 } from 'node:net';
import type { Knex } from 'knex';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface Limiter {
  take(key: string): Promise<Admission>;
}

/** How long a page waits for the shared count before counting in memory. */
const STORE_TIMEOUT_MS = 500;

/** The table migration 008 makes; the library is told it exists, and never creates it. */
export const RATE_LIMIT_TABLE = 'rate_limits';

/**
 * `points` requests per `durationSeconds` for each key, named apart by `name`; undefined for no
 * limit (`points` 0).
 */
export function sharedLimiter(
  knex: Knex,
  options: { name: string; points: number; durationSeconds: number },
): Limiter | undefined {
  if (options.points <= 0) return undefined;
  const common = { keyPrefix: options.name, points: options.points, duration: options.durationSeconds };
  // A database that fails, or hangs, costs a page at most STORE_TIMEOUT_MS here: then this
  // process's own memory counts (the insurance limiter), and the page goes on to its own fate.
  const limiter = new RLWrapperTimeouts({
    limiter: new RateLimiterPostgres({
      ...common,
      storeClient: knex,
      storeType: 'knex',
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true,
    }),
    timeoutMs: STORE_TIMEOUT_MS,
    insuranceLimiter: new RateLimiterMemory(common),
  });
  return {
    async take(key) {
      try {
        await limiter.consume(key);
        return { ok: true };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
      }
    },
  };
}

/**
 * The client's address: the socket's, or, behind `trustedHops` proxies, the address the
 * outermost trusted proxy saw. Entries further left can be forged; so can a chain shorter than
 * the trusted hops (the client reached us without passing them all): the socket's address then.
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
  return chain.length >= trustedHops ? (chain[chain.length - trustedHops] as string) : direct;
}

/**
 * What a client is counted as: its IPv4 address, or the /64 of an IPv6 one (a single host
 * usually holds a whole /64, and could otherwise take a fresh address per request).
 */
export function limitKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
