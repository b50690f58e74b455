import { createHash } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

/** Sealed values longer than this are refused unread (a cookie is at most 4 KB anyway). */
const MAX_SEALED_LENGTH = 4096;

/**
 * Small signed values for cookies (no server state: any process may get the next request): a
 * JWT (HS256, jose) whose audience is the value's purpose, with an expiry, signed with a key
 * derived from the link key. It is tamper-evident, not secret, so nothing secret goes in.
 */
export class Sealer {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.key = createHash('sha256').update(`chatbees-users sealed:${secret}`).digest();
  }

  seal(purpose: string, value: unknown, ttlSeconds: number): Promise<string> {
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    return new SignJWT({ v: value })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(purpose)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttlSeconds)
      .sign(this.key);
  }

  /** The value sealed for `purpose`, if it is intact and not expired; else undefined. */
  async open<T>(purpose: string, sealed: string | undefined): Promise<T | undefined> {
    if (!sealed || sealed.length > MAX_SEALED_LENGTH) return undefined;
    try {
      const { payload } = await jwtVerify(sealed, this.key, {
        audience: purpose,
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        currentDate: this.now(),
      });
      return payload.v as T | undefined;
    } catch {
      return undefined;
    }
  }
}
