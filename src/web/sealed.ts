import { createHash, createHmac } from 'node:crypto';
import { safeEqual } from './http.js';

/**
 * Small signed values for cookies (no server state: any process may get the next request).
 * A value is its JSON, a purpose and an expiry, signed with a key derived from the link key;
 * it is tamper-evident, not secret, so nothing secret goes in.
 */
export class Sealer {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.key = createHash('sha256').update(`chatbees-users sealed:${secret}`).digest();
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  seal(purpose: string, value: unknown, ttlSeconds: number): string {
    const body = Buffer.from(
      JSON.stringify({ p: purpose, v: value, exp: Math.floor(this.now().getTime() / 1000) + ttlSeconds }),
    ).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  open<T>(purpose: string, sealed: string | undefined): T | undefined {
    if (!sealed || sealed.length > 4096) return undefined;
    const [body, mac] = sealed.split('.');
    if (!body || !mac) return undefined;
    if (!safeEqual(mac, this.mac(body))) return undefined;
    try {
      const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p?: string; v?: T; exp?: number };
      if (parsed.p !== purpose || typeof parsed.exp !== 'number') return undefined;
      if (parsed.exp * 1000 <= this.now().getTime()) return undefined;
      return parsed.v;
    } catch {
      return undefined;
    }
  }
}
