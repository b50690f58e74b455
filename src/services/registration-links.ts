import { createHash, webcrypto } from 'node:crypto';
import { errors, type JWTHeaderParameters, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { REGISTER_PATH } from '../paths.js';

const ISSUER = 'chatbees-users';
const AUDIENCE = 'chatbees-users/register';
const ALGORITHM = 'HS256';
const MAX_TOKEN_LENGTH = 2048;
const INVITE_ID = /^[a-z0-9]{6,32}$/;

export type VerifiedLink = { ok: true; inviteId: string; expired: boolean } | { ok: false; reason: 'invalid' };

/** Verified links remembered, so the several checks of one page view verify its signature once. */
const VERIFIED_KEPT = 64;

interface Key {
  kid: string;
  /**
   * Imported once: jose imports raw key bytes again on every call, a WebCrypto job on the
   * thread pool of its own besides the signature's (measured: 8.5 futex calls per page view).
   */
  crypto: Promise<webcrypto.CryptoKey>;
}

function keyOf(secret: string): Key {
  // The key id names the key without revealing it: a short digest of the secret.
  const kid = createHash('sha256').update(`chatbees-users kid:${secret}`).digest('base64url').slice(0, 12);
  const crypto = webcrypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  // A key WebCrypto refuses (an empty one) fails where it is used, not as an unhandled rejection.
  crypto.catch(() => {});
  return { kid, crypto };
}

/**
 * Signed registration links. The token carries only the invite id and its expiry; the
 * database stays the truth about whether the invite is still good. Earlier secrets still
 * verify during a key rotation, and only the current one signs.
 */
export class RegistrationLinks {
  private readonly current: Key;
  private readonly keys: Map<string, Key>;
  private readonly now: () => Date;
  /** Genuine tokens verified lately and what they carry (a signature never stops being genuine). */
  private readonly verified = new Map<string, { inviteId: string; exp: number }>();

  constructor(
    private readonly options: {
      /** Where the registration pages are; none: links are signed but have no page to open. */
      publicUrl?: string;
      secret: string;
      previousSecrets?: readonly string[];
      now?: () => Date;
    },
  ) {
    this.current = keyOf(options.secret);
    this.keys = new Map([this.current, ...(options.previousSecrets ?? []).map(keyOf)].map((k) => [k.kid, k]));
    this.now = options.now ?? (() => new Date());
  }

  async sign(invite: { id: string; expiresAt: Date }): Promise<string> {
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, kid: this.current.kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setJti(invite.id)
      .setIssuedAt(issuedAt)
      .setExpirationTime(Math.floor(invite.expiresAt.getTime() / 1000))
      .sign(await this.current.crypto);
  }

  /** Whether links have a page to open (PUBLIC_URL is known). */
  get pages(): boolean {
    return this.options.publicUrl !== undefined;
  }

  /** The link's page; null when the app serves no pages (Socket Mode without PUBLIC_URL). */
  url(token: string): string | null {
    return this.options.publicUrl === undefined ? null : `${this.options.publicUrl}${REGISTER_PATH}${token}`;
  }

  async verify(token: string): Promise<VerifiedLink> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return { ok: false, reason: 'invalid' };
    }
    const known = this.verified.get(token);
    // Expired as jose counts it: `exp` at or before the current second.
    if (known)
      return { ok: true, inviteId: known.inviteId, expired: known.exp <= Math.floor(this.now().getTime() / 1000) };
    const resolveKey = (header: JWTHeaderParameters) => {
      const key = header.kid === undefined ? undefined : this.keys.get(header.kid);
      if (!key) throw new errors.JWKSNoMatchingKey();
      return key.crypto;
    };
    let payload: JWTPayload;
    let expired = false;
    try {
      ({ payload } = await jwtVerify(token, resolveKey, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['jti', 'exp', 'iat'],
        currentDate: this.now(),
      }));
    } catch (err) {
      // The signature is checked before the claims, so an expired token's payload is genuine.
      if (!(err instanceof errors.JWTExpired)) return { ok: false, reason: 'invalid' };
      payload = err.payload;
      expired = true;
    }
    const inviteId = payload.jti;
    if (typeof inviteId !== 'string' || !INVITE_ID.test(inviteId)) return { ok: false, reason: 'invalid' };
    this.remember(token, inviteId, payload.exp as number);
    return { ok: true, inviteId, expired };
  }

  private remember(token: string, inviteId: string, exp: number): void {
    if (this.verified.size >= VERIFIED_KEPT) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { inviteId, exp });
  }
}
