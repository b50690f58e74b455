import { createHash, createHmac, randomBytes } from 'node:crypto';
import { cookieValue, safeEqual } from './http.js';

/**
 * Double-submit CSRF protection without server state (any process may get the POST): the
 * page sets a random cookie and puts an HMAC of it, bound to this registration link, in the
 * form. A forged cross-site POST has neither the cookie nor the matching form value.
 */
export class Csrf {
  readonly cookieName: string;
  private readonly key: Buffer;
  private readonly secure: boolean;

  constructor(options: { secret: string; secure: boolean }) {
    this.key = createHash('sha256').update(`chatbees-users csrf:${options.secret}`).digest();
    // __Host- cookies must be Secure; plain http (local runs) gets a plain name.
    this.cookieName = options.secure ? '__Host-chatbees_csrf' : 'chatbees_csrf';
    this.secure = options.secure;
  }

  private sign(nonce: string, registrationToken: string): string {
    const bound = createHash('sha256').update(registrationToken).digest('base64url');
    return createHmac('sha256', this.key).update(`${nonce}.${bound}`).digest('base64url');
  }

  /** A fresh pair for a page: the Set-Cookie header and the form's hidden value. */
  issue(registrationToken: string, existingNonce?: string): { setCookie: string; formValue: string } {
    const nonce =
      existingNonce && /^[A-Za-z0-9_-]{22,64}$/.test(existingNonce)
        ? existingNonce
        : randomBytes(24).toString('base64url');
    const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=3600', ...(this.secure ? ['Secure'] : [])];
    return {
      setCookie: `${this.cookieName}=${nonce}; ${attributes.join('; ')}`,
      formValue: this.sign(nonce, registrationToken),
    };
  }

  nonceFrom(cookieHeader: string | undefined): string | undefined {
    return cookieValue(cookieHeader, this.cookieName);
  }

  verify(cookieHeader: string | undefined, formValue: string | null, registrationToken: string): boolean {
    const nonce = this.nonceFrom(cookieHeader);
    if (!nonce || !formValue) return false;
    return safeEqual(formValue, this.sign(nonce, registrationToken));
  }
}
