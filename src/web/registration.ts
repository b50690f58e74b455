// GET /register/:token shows what the link is and asks to confirm; only the POST (with its
// CSRF token) registers anyone. Link previews, mail scanners and double clicks are harmless.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { REFUSAL_TITLE, refusalText } from '../refusal-text.js';
import { setOutcome } from '../request-log.js';
import type { Services } from '../services/index.js';
import type { InviteDetails } from '../services/invites.js';
import type { Account, Invite, Member, Profile, Refusal } from '../services/types.js';
import type { Csrf } from './csrf.js';
import { BodyError, drain, pageHeaders, readForm } from './http.js';
import { confirmPage, joinedPage, messagePage, STYLE_HASH } from './pages.js';
import { clientAddress, RateLimiter } from './rate-limit.js';

export const FORM_LIMIT_BYTES = 2048;

const STATUS: Partial<Record<Refusal, number>> = {
  invite_unknown: 404,
  invite_expired: 410,
  invite_revoked: 410,
  invite_replaced: 410,
  invite_used: 410,
};

export interface Registered {
  account: Account;
  member: Member;
  invite: Invite;
}

export interface RegistrationDeps {
  services: Services;
  /** Requests a minute per client address and per link; 0 means no limit. */
  limits: { perAddress: number; perLink: number };
  trustProxyHops?: number;
  csrf: Csrf;
  logger: Logger;
  /** The origin of PUBLIC_URL: a POST from any other origin is refused. */
  publicOrigin: string;
  /** The Slack profile of the person about to register, when Slack answers in time. */
  lookupProfile(invite: Invite): Promise<Profile | undefined>;
  /** Tells the inviter and welcomes the new member; runs after the page is sent. */
  announce(registered: Registered): Promise<void>;
}

function send(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...pageHeaders(STYLE_HASH), ...extra, 'Content-Length': String(Buffer.byteLength(html)) });
  res.end(html);
}

function sendRefusal(res: ServerResponse, reason: Refusal): void {
  setOutcome(`refused:${reason}`);
  send(res, STATUS[reason] ?? 403, messagePage(REFUSAL_TITLE[reason] ?? 'Not possible', refusalText(reason)));
}

export function registrationRoutes(deps: RegistrationDeps) {
  const { services, csrf, logger } = deps;

  async function show(req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
    const inspected = await services.invites.inspect(token);
    if (!inspected.ok) return sendRefusal(res, inspected.reason);
    const details: InviteDetails = inspected;
    if (details.invite.forSlackUserId === null) return sendRefusal(res, 'identity_required');
    const { setCookie, formValue } = csrf.issue(token, csrf.nonceFrom(req.headers.cookie));
    send(res, 200, confirmPage(details, `/register/${encodeURIComponent(token)}`, formValue), {
      'Set-Cookie': setCookie,
    });
  }

  async function confirm(req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
    // Browsers send "Origin: null" for a form posted from a no-referrer page such as ours;
    // the CSRF pair below still has to match.
    const origin = req.headers.origin;
    if (origin && origin !== deps.publicOrigin && origin !== 'null') {
      return send(res, 403, messagePage('Not allowed', 'This form can only be sent from its own page.'));
    }
    let form: URLSearchParams;
    try {
      form = await readForm(req, FORM_LIMIT_BYTES);
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 400;
      await drain(req, 8 * FORM_LIMIT_BYTES);
      return send(res, status, messagePage('Not possible', 'That request could not be read.'), { Connection: 'close' });
    }
    if (!csrf.verify(req.headers.cookie, form.get('csrf'), token)) {
      setOutcome('refused:csrf');
      return send(
        res,
        403,
        messagePage(
          'Please try again',
          'This page expired or was opened elsewhere. Open your registration link again and confirm.',
        ),
      );
    }
    const inspected = await services.invites.inspect(token);
    if (!inspected.ok) return sendRefusal(res, inspected.reason);
    const profile = await deps.lookupProfile(inspected.invite).catch(() => undefined);
    const accepted = await services.invites.accept(token, {
      profile: profile ?? { displayName: inspected.invite.forDisplayName },
      source: 'registration_page',
    });
    if (!accepted.ok) return sendRefusal(res, accepted.reason);
    setOutcome(accepted.alreadyMember ? 'already_member' : 'registered');
    send(res, 200, joinedPage(accepted.account.name, accepted.member.role, accepted.alreadyMember));
    if (!accepted.alreadyMember) {
      deps.announce(accepted).catch((err: unknown) => logger.warn({ err }, 'registration not announced'));
    }
  }

  const limiter = (limit: number) => (limit > 0 ? new RateLimiter({ limit, windowMs: 60_000 }) : undefined);
  const byAddress = limiter(deps.limits.perAddress);
  const byLink = limiter(deps.limits.perLink);

  /** Refuses floods from one address or on one link, before any database work. */
  function admitted(req: IncomingMessage, res: ServerResponse, token: string): boolean {
    const address = clientAddress(req.headers, req.socket.remoteAddress, deps.trustProxyHops ?? 0);
    const link = createHash('sha256').update(token).digest('base64url');
    const verdict = [byAddress?.take(address), byLink?.take(link)].find((a) => a && !a.ok);
    if (!verdict || verdict.ok) return true;
    setOutcome('refused:rate_limited');
    const wait = verdict.retryAfterSeconds;
    send(
      res,
      429,
      messagePage('Too many requests', `Too many requests. Try again in ${wait} second${wait === 1 ? '' : 's'}.`),
      {
        'Retry-After': String(wait),
      },
    );
    return false;
  }

  return {
    async handle(req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
      if (!admitted(req, res, token)) return;
      if (req.method === 'GET' || req.method === 'HEAD') return show(req, res, token);
      if (req.method === 'POST') return confirm(req, res, token);
      send(res, 405, messagePage('Not possible', 'Open the link in a browser.'), { Allow: 'GET, POST' });
    },
  };
}
