// Fixed-window request counts per key (a client address, a registration link), held in this
// process's memory and bounded in size. They only shield the public pages from floods: with
// several processes each allows its own share, which is fine for that purpose.

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly options: { limit: number; windowMs: number; maxKeys?: number; now?: () => number }) {}

  take(key: string): Admission {
    const now = (this.options.now ?? Date.now)();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.options.windowMs) {
      this.windows.delete(key); // re-inserted last: the map stays in order of recent use
      window = { start: now, count: 0 };
      this.windows.set(key, window);
      this.evict();
    }
    window.count += 1;
    if (window.count <= this.options.limit) return { ok: true };
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.options.windowMs - now) / 1000)),
    };
  }

  private evict(): void {
    const max = this.options.maxKeys ?? 50_000;
    for (const key of this.windows.keys()) {
      if (this.windows.size <= max) return;
      this.windows.delete(key);
    }
  }
}

/**
 * The client's address: the socket's, or, behind `trustedHops` proxies, the address the
 * outermost trusted proxy saw (X-Forwarded-For entries further left can be forged).
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
  return chain[chain.length - trustedHops] ?? chain[0] ?? direct;
}
