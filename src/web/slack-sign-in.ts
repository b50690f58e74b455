// Sign in with Slack (OpenID Connect) for registration links meant for anyone: the person's
// Slack identity comes from an id_token verified against Slack's keys, never from the page.
// Slack's browser-facing endpoints are derived from SLACK_API_URL's origin, so GovSlack and a
// local stand-in work without more settings.
import type { WebClient } from '@slack/web-api';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export interface SlackSignInUser {
  slackUserId: string;
  teamId: string;
  enterpriseId: string | null;
  name: string | null;
  email: string | null;
}

export class SlackSignIn {
  private readonly origin: string;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly options: {
      clientId: string;
      clientSecret: string;
      /** SLACK_API_URL, e.g. https://slack.com/api/ */
      apiUrl: string;
      /** Where Slack sends the browser back: `${PUBLIC_URL}/register/signed-in`. */
      redirectUri: string;
      client: WebClient;
      now?: () => Date;
    },
  ) {
    this.origin = new URL(options.apiUrl).origin;
    this.jwks = createRemoteJWKSet(new URL('/openid/connect/keys', this.origin), { timeoutDuration: 3_000 });
  }

  /** Slack's consent page for this person, asking only who they are. */
  authorizeUrl(state: string, nonce: string, teamId?: string | null): string {
    const url = new URL('/openid/connect/authorize', this.origin);
    url.search = new URLSearchParams({
      response_type: 'code',
      scope: 'openid profile email',
      client_id: this.options.clientId,
      redirect_uri: this.options.redirectUri,
      state,
      nonce,
      ...(teamId ? { team: teamId } : {}),
    }).toString();
    return url.toString();
  }

  /** The code Slack sent back, exchanged and its id_token verified; undefined if anything is off. */
  async verify(code: string, nonce: string): Promise<SlackSignInUser | undefined> {
    const exchanged = (await this.options.client.openid.connect.token({
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
      code,
      redirect_uri: this.options.redirectUri,
    })) as { id_token?: string };
    if (!exchanged.id_token) return undefined;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(exchanged.id_token, this.jwks, {
        issuer: this.origin,
        audience: this.options.clientId,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat', 'nonce'],
        currentDate: this.options.now?.(),
      }));
    } catch {
      return undefined;
    }
    if (claims.nonce !== nonce) return undefined;
    const text = (key: string) => (typeof claims[key] === 'string' ? (claims[key] as string) : null);
    const slackUserId = text('https://slack.com/user_id');
    const teamId = text('https://slack.com/team_id');
    if (!slackUserId || !teamId) return undefined;
    return {
      slackUserId,
      teamId,
      enterpriseId: text('https://slack.com/enterprise_id'),
      name: text('name'),
      email: text('email'),
    };
  }
}
