// GET /register/:token shows what the link is and asks to confirm; only the POST (with its
// CSRF token) registers anyone. Link previews, mail scanners and double clicks are harmless.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { REGISTER_PATH } from '../paths.js';
import { REFUSAL_TITLE, refusalText } from '../refusal-text.js';
import { setOutcome } from '../request-log.js';
import type { Services } from '../services/index.js';
import type { InviteDetails } from '../services/invites.js';
import { identify, type RegisterOutcome, register, type VerifiedIdentity } from '../services/operations/register.js';
import type { Refusal } from '../services/types.js';
import type { Csrf } from './csrf.js';
import { BodyError, cookieValue, drain, pageHeaders, readForm, safeEqual } from './http.js';
import { confirmPage, joinedPage, messagePage, STYLE_HASH, signInPage } from './pages.js';
import { clientAddress, type Limiter, limitKey } from './rate-limit.js';
import type { Sealer } from './sealed.js';
import type { SlackSignIn, SlackSignInUser } from './slack-sign-in.js';

export const FORM_LIMIT_BYTES = 2048;

const STATUS: Partial<Record<Refusal, number>> = {
  invite_unknown: 404,
  invite_expired: 410,
  invite_revoked: 410,
  invite_replaced: 410,
  invite_used: 410,
  slack_unavailable: 503,
};

export interface RegistrationDeps {
  services: Services;
  /** Requests a minute per client address (its /64 for IPv6) and per link; absent: no limit. */
  limiters: { perAddress?: Limiter; perLink?: Limiter };
  trustProxyHops?: number;
  csrf: Csrf;
  logger: Logger;
  /** The origin of PUBLIC_URL: a POST from any other origin is refused. */
  publicOrigin: string;
  /** Sign in with Slack, for links meant for anyone; undefined when not configured. */
  signIn?: SlackSignIn;
  /** Signs the sign-in state and the verified identity kept in cookies between steps. */
  sealer: Sealer;
  /** Cookies get Secure (PUBLIC_URL is https). */
  secureCookies: boolean;
  /** APP_URL: the product's sign-in page, offered once someone joined. */
  appUrl?: string;
}

/** Appended to a link's path: where "Continue with Slack" starts Slack's sign-in for it. */
const SIGN_IN_SUFFIX = '/sign-in';
const STATE_COOKIE = 'chatbees_signin';
const IDENTITY_COOKIE = 'chatbees_identity';
const SIGN_IN_SECONDS = 600;

interface SignInState {
  state: string;
  nonce: string;
  token: string;
}
interface SignedInIdentity {
  /** A digest of the registration token the identity was verified for. */
  link: string;
  user: SlackSignInUser;
}

const linkDigest = (token: string) => createHash('sha256').update(token).digest('base64url');
/** The path of a link's page on this server. */
const linkPath = (token: string) => `${REGISTER_PATH}${encodeURIComponent(token)}`;

function send(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...pageHeaders(STYLE_HASH), ...extra, 'Content-Length': String(Buffer.byteLength(html)) });
  res.end(html);
}

/** A 303 to `location`, nothing cached or leaked on the way. */
function seeOther(res: ServerResponse, location: string, cookies: string[] = []): void {
  res.writeHead(303, {
    Location: location,
    ...(cookies.length ? { 'Set-Cookie': cookies } : {}),
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  });
  res.end();
}

/**
 * A refused link, in a person's words: 404 for a link that never existed, 410 for one that ended,
 * 503 (try again) when Slack did not answer, 403 for the rest. A personal invite refused to
 * someone else names whom it is for.
 */
function sendRefusal(
  res: ServerResponse,
  reason: Refusal,
  about: { details?: InviteDetails; signedIn?: SlackSignInUser } = {},
): void {
  setOutcome(`refused:${reason}`);
  const status = STATUS[reason] ?? 403;
  const text = refusalText(reason, {
    invitee: about.details?.invite.forDisplayName,
    signedInAs: about.signedIn ? (about.signedIn.name ?? about.signedIn.slackUserId) : undefined,
  });
  send(res, status, messagePage(REFUSAL_TITLE[reason] ?? 'Not possible', text), {
    ...(status === 503 ? { 'Retry-After': '60' } : {}),
  });
}

/** The identity Slack vouched for, as the services take it. */
function identityOf(user: SlackSignInUser): VerifiedIdentity {
  return { slackUserId: user.slackUserId, teamId: user.teamId, enterpriseId: user.enterpriseId };
}

export function registrationRoutes(deps: RegistrationDeps) {
  const { services, csrf, logger } = deps;

  async function show(req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
    // Signed in for this link: whether it would take them, told now (the POST checks again).
    const signedIn = deps.signIn ? await signedInAs(req, token) : undefined;
    const found = signedIn
      ? await identify(services, token, identityOf(signedIn))
      : await services.invites.inspect(token);
    // Slack late with its answer about the person: show the page; confirming asks again.
    if (!found.ok && (found.reason !== 'slack_unavailable' || !found.details)) {
      return sendRefusal(res, found.reason, { details: found.details, signedIn });
    }
    const details = (found.ok ? found : found.details) as InviteDetails;
    if (details.invite.forSlackUserId === null && !deps.signIn) return sendRefusal(res, 'identity_required');
    const { setCookie, formValue } = csrf.issue(token, csrf.nonceFrom(req.headers.cookie));
    const action = linkPath(token);
    const page = deps.signIn
      ? signInPage(
          details,
          { action, signIn: `${action}${SIGN_IN_SUFFIX}`, csrf: formValue },
          signedIn ? (signedIn.name ?? signedIn.slackUserId) : null,
        )
      : confirmPage(details, action, formValue);
    send(res, 200, page, { 'Set-Cookie': setCookie });
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
    let accepted: RegisterOutcome;
    let signedIn: SlackSignInUser | undefined;
    if (deps.signIn) {
      signedIn = await signedInAs(req, token);
      // Not (or no longer) signed in: back to the link's page, which offers "Continue with Slack".
      if (!signedIn) return seeOther(res, linkPath(token));
      accepted = await register(services, token, {
        identity: identityOf(signedIn),
        profile: { displayName: signedIn.name, email: signedIn.email },
        source: 'registration_page',
      });
    } else {
      // A link for anyone is refused here: who is registering would be the page's word.
      accepted = await register(services, token, { source: 'registration_page' });
    }
    if (!accepted.ok) return sendRefusal(res, accepted.reason, { details: accepted.details, signedIn });
    setOutcome(accepted.alreadyMember ? 'already_member' : 'registered');
    send(res, 200, joinedPage(accepted.account.name, accepted.member.role, accepted.alreadyMember, deps.appUrl));
  }

  /** GET /register/:token/sign-in: off to Slack's sign-in for this link, if it can still be used. */
  async function beginSignIn(res: ServerResponse, token: string): Promise<void> {
    if (!deps.signIn) return sendRefusal(res, 'identity_required');
    const inspected = await services.invites.inspect(token);
    if (!inspected.ok) return sendRefusal(res, inspected.reason, inspected);
    await startSignIn(res, token, inspected.account.slackTeamId);
  }

  const cookie = (name: string, value: string, seconds: number, sameSite: 'Lax' | 'Strict') =>
    [
      `${deps.secureCookies ? `__Host-${name}` : name}=${value}`,
      'Path=/',
      'HttpOnly',
      `SameSite=${sameSite}`,
      `Max-Age=${seconds}`,
      ...(deps.secureCookies ? ['Secure'] : []),
    ].join('; ');
  const cookieIn = (req: IncomingMessage, name: string) =>
    cookieValue(req.headers.cookie, deps.secureCookies ? `__Host-${name}` : name);

  /** The Slack user this browser signed in as, for this link. */
  async function signedInAs(req: IncomingMessage, token: string): Promise<SlackSignInUser | undefined> {
    const identity = await deps.sealer.open<SignedInIdentity>('identity', cookieIn(req, IDENTITY_COOKIE));
    return identity && identity.link === linkDigest(token) ? identity.user : undefined;
  }

  /** Off to Slack: a random state and nonce, kept signed in a cookie that comes back with the person. */
  async function startSignIn(res: ServerResponse, token: string, teamId: string | null): Promise<void> {
    const signIn = deps.signIn as SlackSignIn;
    const state: SignInState = {
      state: randomBytes(18).toString('base64url'),
      nonce: randomBytes(18).toString('base64url'),
      token,
    };
    setOutcome('sign_in_started');
    // Lax: the way back from Slack is a top-level navigation from another site.
    seeOther(res, signIn.authorizeUrl(state.state, state.nonce, teamId), [
      cookie(STATE_COOKIE, await deps.sealer.seal('sign-in', state, SIGN_IN_SECONDS), SIGN_IN_SECONDS, 'Lax'),
    ]);
  }

  /** Back from Slack: verify who this is, then show the link's page again, to confirm as them. */
  async function signedIn(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const signIn = deps.signIn;
    const saved = await deps.sealer.open<SignInState>('sign-in', cookieIn(req, STATE_COOKIE));
    const given = query.get('state') ?? '';
    const code = query.get('code') ?? '';
    const fail = (why: string) => {
      setOutcome(`refused:sign_in_${why}`);
      send(
        res,
        400,
        messagePage(
          'Sign-in did not work',
          'Slack did not confirm who you are. Open the registration link again and retry.',
        ),
      );
    };
    if (!signIn || !saved || !code || !safeEqual(given, saved.state)) return fail('state');
    // A sign-in state is good once, in any process: taken before Slack is asked anything, so a
    // replayed return (made-up codes on a captured state) never reaches Slack.
    if (!(await services.requests.claim(`sign-in:${saved.state}`))) return fail('replayed');
    const user = await signIn.verify(code, saved.nonce).catch((err: unknown) => {
      logger.warn({ err }, 'Sign in with Slack: code not exchanged');
      return undefined;
    });
    if (!user) return fail('identity');
    setOutcome('signed_in');
    const identity: SignedInIdentity = { link: linkDigest(saved.token), user };
    seeOther(res, linkPath(saved.token), [
      cookie(IDENTITY_COOKIE, await deps.sealer.seal('identity', identity, SIGN_IN_SECONDS), SIGN_IN_SECONDS, 'Lax'),
      cookie(STATE_COOKIE, '', 0, 'Lax'),
    ]);
  }

  function refuse(res: ServerResponse, wait: number): void {
    setOutcome('refused:rate_limited');
    send(
      res,
      429,
      messagePage('Too many requests', `Too many requests. Try again in ${wait} second${wait === 1 ? '' : 's'}.`),
      {
        'Retry-After': String(wait),
      },
    );
  }

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
    if (!deps.limiters.perLink || !(await services.invites.genuine(token))) return true;
    const verdict = await deps.limiters.perLink.take(linkDigest(token));
    if (!verdict || verdict.ok) return true;
    refuse(res, verdict.retryAfterSeconds);
    return false;
  }

  return {
    /** The other public pages (the install flow) count against the same per-address limit. */
    admit,
    /** GET /register/signed-in?code=…&state=…, where Slack sends the person back. */
    async signedIn(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
      if (req.method !== 'GET') {
        return send(res, 405, messagePage('Not possible', 'Open the link in a browser.'), { Allow: 'GET' });
      }
      if (!(await admit(req, res))) return;
      return signedIn(req, res, query);
    },
    /** /register/:token (GET shows, POST confirms) and /register/:token/sign-in (GET). */
    async handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
      const signingIn = rest.endsWith(SIGN_IN_SUFFIX);
      const token = signingIn ? rest.slice(0, -SIGN_IN_SUFFIX.length) : rest;
      if (!(await admitted(req, res, token))) return;
      if (signingIn) {
        if (req.method === 'GET') return beginSignIn(res, token);
        return send(res, 405, messagePage('Not possible', 'Open the link in a browser.'), { Allow: 'GET' });
      }
      if (req.method === 'GET' || req.method === 'HEAD') return show(req, res, token);
      if (req.method === 'POST') return confirm(req, res, token);
      send(res, 405, messagePage('Not possible', 'Open the link in a browser.'), { Allow: 'GET, POST' });
    },
  };
}
