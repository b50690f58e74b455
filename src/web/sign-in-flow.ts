// The steps of Sign in with Slack for a registration link, and the cookies kept between them:
// off to Slack (a signed state), back from Slack (a signed identity), and who this browser is.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { recordOf, setOutcome } from '../request-log.js';
import type { RequestClaims } from '../services/request-claims.js';
import { cookieValue, safeEqual } from './http.js';
import { linkDigest, linkPath } from './links.js';
import { messagePage } from './pages.js';
import { seeOther, send } from './responses.js';
import type { Sealer } from './sealed.js';
import type { SlackSignIn, SlackSignInUser } from './slack-sign-in.js';

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

export interface SignInFlowDeps {
  /** Sign in with Slack, for links meant for anyone; undefined when not configured. */
  signIn?: SlackSignIn;
  /** Signs the sign-in state and the verified identity kept in cookies between steps. */
  sealer: Sealer;
  /** Cookies get Secure (PUBLIC_URL is https). */
  secureCookies: boolean;
  /** Where a sign-in state is claimed, once in any process (services.requests). */
  requests: Pick<RequestClaims, 'claim'>;
  logger: Logger;
}

export class SignInFlow {
  constructor(private readonly deps: SignInFlowDeps) {}

  private cookie(name: string, value: string, seconds: number, sameSite: 'Lax' | 'Strict'): string {
    return [
      `${this.deps.secureCookies ? `__Host-${name}` : name}=${value}`,
      'Path=/',
      'HttpOnly',
      `SameSite=${sameSite}`,
      `Max-Age=${seconds}`,
      ...(this.deps.secureCookies ? ['Secure'] : []),
    ].join('; ');
  }

  private cookieIn(req: IncomingMessage, name: string): string | undefined {
    return cookieValue(req.headers.cookie, this.deps.secureCookies ? `__Host-${name}` : name);
  }

  /** The Slack user this browser signed in as, for this link. */
  async signedInAs(req: IncomingMessage, token: string): Promise<SlackSignInUser | undefined> {
    const identity = await this.deps.sealer.open<SignedInIdentity>('identity', this.cookieIn(req, IDENTITY_COOKIE));
    return identity && identity.link === linkDigest(token) ? identity.user : undefined;
  }

  /** Off to Slack: a random state and nonce, kept signed in a cookie that comes back with the person. */
  async startSignIn(res: ServerResponse, token: string, teamId: string | null): Promise<void> {
    const signIn = this.deps.signIn as SlackSignIn;
    const state: SignInState = {
      state: randomBytes(18).toString('base64url'),
      nonce: randomBytes(18).toString('base64url'),
      token,
    };
    setOutcome(res, 'sign_in_started');
    // Lax: the way back from Slack is a top-level navigation from another site.
    seeOther(res, signIn.authorizeUrl(state.state, state.nonce, teamId), [
      this.cookie(STATE_COOKIE, await this.deps.sealer.seal('sign-in', state, SIGN_IN_SECONDS), SIGN_IN_SECONDS, 'Lax'),
    ]);
  }

  /** Back from Slack: verify who this is, then show the link's page again, to confirm as them. */
  async signedIn(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const { signIn, sealer, requests, logger } = this.deps;
    const saved = await sealer.open<SignInState>('sign-in', this.cookieIn(req, STATE_COOKIE));
    const given = query.get('state') ?? '';
    const code = query.get('code') ?? '';
    const fail = (why: string) => {
      setOutcome(res, `refused:sign_in_${why}`);
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
    if (!(await requests.claim(`sign-in:${saved.state}`))) return fail('replayed');
    const user = await signIn.verify(code, saved.nonce).catch((err: unknown) => {
      logger.warn({ reqId: recordOf(res)?.id, err }, 'Sign in with Slack: code not exchanged');
      return undefined;
    });
    if (!user) return fail('identity');
    setOutcome(res, 'signed_in');
    const identity: SignedInIdentity = { link: linkDigest(saved.token), user };
    seeOther(res, linkPath(saved.token), [
      this.cookie(IDENTITY_COOKIE, await sealer.seal('identity', identity, SIGN_IN_SECONDS), SIGN_IN_SECONDS, 'Lax'),
      this.cookie(STATE_COOKIE, '', 0, 'Lax'),
    ]);
  }
}
