// The rate-limit gate of the public pages: per client address (its /64 for IPv6), and per
// registration link; a refused request is answered 429 with Retry-After.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setOutcome } from '../request-log.js';
import type { InviteService } from '../services/invites.js';
import { linkDigest } from './links.js';
import { messagePage } from './pages.js';
import { clientAddress, type Limiter, limitKey } from './rate-limit.js';
import { send } from './responses.js';

export interface PageLimitDeps {
  /** Requests a minute per client address (its /64 for IPv6) and per link; absent: no limit. */
  limiters: { perAddress?: Limiter; perLink?: Limiter };
  trustProxyHops?: number;
  /** Tells a genuine link from a made-up token (services.invites). */
  invites: Pick<InviteService, 'genuine'>;
}

function refuse(res: ServerResponse, wait: number): void {
  setOutcome(res, 'refused:rate_limited');
  send(
    res,
    429,
    messagePage('Too many requests', `Too many requests. Try again in ${wait} second${wait === 1 ? '' : 's'}.`),
    {
      'Retry-After': String(wait),
    },
  );
}

export function pageLimits(deps: PageLimitDeps) {
  const addressOf = (req: IncomingMessage) =>
    limitKey(clientAddress(req.headers, req.socket.remoteAddress, deps.trustProxyHops ?? 0));

  /** Refuses floods from one address, before any other work; false when refused (and answered). */
  async function admit(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const verdict = await deps.limiters.perAddress?.take(addressOf(req));
    if (!verdict || verdict.ok) return true;
    refuse(res, verdict.retryAfterSeconds);
    return false;
  }

  /** And on one link: a genuine one (a made-up token counts against its sender's address only). */
  async function admitted(req: IncomingMessage, res: ServerResponse, token: string): Promise<boolean> {
    if (!(await admit(req, res))) return false;
    if (!deps.limiters.perLink || !(await deps.invites.genuine(token))) return true;
    const verdict = await deps.limiters.perLink.take(linkDigest(token));
    if (!verdict || verdict.ok) return true;
    refuse(res, verdict.retryAfterSeconds);
    return false;
  }

  return { admit, admitted };
}
