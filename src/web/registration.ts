// GET /register/:token shows what the link is and asks to confirm; only the POST (with its
// CSRF token) registers anyone. Link previews, mail scanners and double clicks are harmless.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { setOutcome } from '../request-log.js';
import type { Services } from '../services/index.js';
import type { InviteDetails } from '../services/invites.js';
import { identify, type RegisterOutcome, register, type VerifiedIdentity } from '../services/operations/register.js';
import type { Csrf } from './csrf.js';
import { BodyError, drain, readForm } from './http.js';
import { linkPath } from './links.js';
import { pageLimits } from './page-limits.js';
import { confirmPage, joinedPage, messagePage, signInPage } from './pages.js';
import type { Limiter } from './rate-limit.js';
import { seeOther, send, sendRefusal } from './responses.js';
import type { Sealer } from './sealed.js';
import { SignInFlow } from './sign-in-flow.js';
import type { SlackSignIn, SlackSignInUser } from './slack-sign-in.js';

export const FORM_LIMIT_BYTES = 2048;

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

/** What the link pages work with: the routes' dependencies and the sign-in steps. */
interface LinkPages extends RegistrationDeps {
  flow: SignInFlow;
}

/** Appended to a link's path: where "Continue with Slack" starts Slack's sign-in for it. */
const SIGN_IN_SUFFIX = '/sign-in';

/** The identity Slack vouched for, as the services take it. */
function identityOf(user: SlackSignInUser): VerifiedIdentity {
  return { slackUserId: user.slackUserId, teamId: user.teamId, enterpriseId: user.enterpriseId };
}

async function show(pages: LinkPages, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  const { services, csrf } = pages;
  // Signed in for this link: whether it would take them, told now (the POST checks again).
  const signedIn = pages.signIn ? await pages.flow.signedInAs(req, token) : undefined;
  const found = signedIn
    ? await identify(services, token, identityOf(signedIn))
    : await services.invites.inspect(token);
  // Slack late with its answer about the person: show the page; confirming asks again.
  if (!found.ok && (found.reason !== 'slack_unavailable' || !found.details)) {
    return sendRefusal(res, found.reason, { details: found.details, signedIn });
  }
  const details = (found.ok ? found : found.details) as InviteDetails;
  if (details.invite.forSlackUserId === null && !pages.signIn) return sendRefusal(res, 'identity_required');
  const { setCookie, formValue } = csrf.issue(token, csrf.nonceFrom(req.headers.cookie));
  const action = linkPath(token);
  const page = pages.signIn
    ? signInPage(
        details,
        { action, signIn: `${action}${SIGN_IN_SUFFIX}`, csrf: formValue },
        signedIn ? (signedIn.name ?? signedIn.slackUserId) : null,
      )
    : confirmPage(details, action, formValue);
  send(res, 200, page, { 'Set-Cookie': setCookie });
}

async function confirm(pages: LinkPages, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  const { services, csrf } = pages;
  // Browsers send "Origin: null" for a form posted from a no-referrer page such as ours;
  // the CSRF pair below still has to match.
  const origin = req.headers.origin;
  if (origin && origin !== pages.publicOrigin && origin !== 'null') {
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
    setOutcome(res, 'refused:csrf');
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
  if (pages.signIn) {
    signedIn = await pages.flow.signedInAs(req, token);
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
  setOutcome(res, accepted.alreadyMember ? 'already_member' : 'registered');
  send(res, 200, joinedPage(accepted.account.name, accepted.member.role, accepted.alreadyMember, pages.appUrl));
}

/** GET /register/:token/sign-in: off to Slack's sign-in for this link, if it can still be used. */
async function beginSignIn(pages: LinkPages, res: ServerResponse, token: string): Promise<void> {
  if (!pages.signIn) return sendRefusal(res, 'identity_required');
  const inspected = await pages.services.invites.inspect(token);
  if (!inspected.ok) return sendRefusal(res, inspected.reason, inspected);
  await pages.flow.startSignIn(res, token, inspected.account.slackTeamId);
}

export function registrationRoutes(deps: RegistrationDeps) {
  const { services, logger } = deps;
  const flow = new SignInFlow({
    signIn: deps.signIn,
    sealer: deps.sealer,
    secureCookies: deps.secureCookies,
    requests: services.requests,
    logger,
  });
  const { admit, admitted } = pageLimits({
    limiters: deps.limiters,
    trustProxyHops: deps.trustProxyHops,
    invites: services.invites,
  });
  const pages: LinkPages = { ...deps, flow };

  return {
    /** The other public pages (the install flow) count against the same per-address limit. */
    admit,
    /** GET /register/signed-in?code=…&state=…, where Slack sends the person back. */
    async signedIn(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
      if (req.method !== 'GET') {
        return send(res, 405, messagePage('Not possible', 'Open the link in a browser.'), { Allow: 'GET' });
      }
      if (!(await admit(req, res))) return;
      return flow.signedIn(req, res, query);
    },
    /** /register/:token (GET shows, POST confirms) and /register/:token/sign-in (GET). */
    async handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
      const signingIn = rest.endsWith(SIGN_IN_SUFFIX);
      const token = signingIn ? rest.slice(0, -SIGN_IN_SUFFIX.length) : rest;
      if (!(await admitted(req, res, token))) return;
      if (signingIn) {
        if (req.method === 'GET') return beginSignIn(pages, res, token);
        return send(res, 405, messagePage('Not possible', 'Open the link in a browser.'), { Allow: 'GET' });
      }
      if (req.method === 'GET' || req.method === 'HEAD') return show(pages, req, res, token);
      if (req.method === 'POST') return confirm(pages, req, res, token);
      send(res, 405, messagePage('Not possible', 'Open the link in a browser.'), { Allow: 'GET, POST' });
    },
  };
}
