// Multi-workspace mode: Bolt's OAuth install flow (/slack/install → Slack's consent page →
// /slack/oauth_redirect). The state is a signed token in a cookie (Bolt's, from
// SLACK_STATE_SECRET), so any process can finish a flow another began. On the way back the
// tokens, the workspace's account and its first AccountAdmin are stored in one transaction.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPReceiverOptions, Installation, InstallURLOptions } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Config } from '../config.js';
import type { InFlight } from '../in-flight.js';
import type { Logger } from '../logger.js';
import { INSTALL_PATH, OAUTH_REDIRECT_PATH } from '../paths.js';
import { setOutcome } from '../request-log.js';
import type { InstallationService } from '../services/installations.js';
import type { Profile } from '../services/types.js';
import { installationStore } from './installation-store.js';

/** What the bot asks each workspace for; the manifest's bot scopes say the same (tested). */
export const BOT_SCOPES = [
  'commands',
  'chat:write',
  'im:write',
  'users:read',
  'users:read.email',
  'channels:read',
  'groups:read',
  'usergroups:read',
  'im:history',
  'files:write',
];

/** The install flow's pages, rendered by the web layer (handed in by src/app.ts). */
export interface InstallPages {
  /** Headers every page carries (caching, framing, Content-Security-Policy). */
  headers: Record<string, string>;
  install(authorizeUrl: string): string;
  installed(options: {
    accountName: string | null;
    installer: 'made_admin' | 'already_admin' | 'not_made_admin';
    reinstall: boolean;
    openSlackUrl: string | null;
  }): string;
  message(title: string, text: string): string;
}

export interface InstallDeps {
  installations: InstallationService;
  /** A graceful stop waits for an install being stored, even if the browser went away. */
  inFlight: InFlight;
  logger: Logger;
  /** PUBLIC_URL, without a trailing slash. */
  publicUrl: string;
  /** Slack's browser-facing origin, from SLACK_API_URL (slack.com, GovSlack, a stand-in). */
  slackOrigin: string;
  /** The installer's name and email, read with the new token; undefined if Slack does not say in time. */
  installerProfile(botToken: string, slackUserId: string): Promise<Profile | undefined>;
  pages: InstallPages;
}

/** Why an install did not finish, in words for the person in the browser. */
function failureText(code: string | undefined): { status: number; title: string; text: string } {
  switch (code) {
    case 'slack_oauth_installer_authorization_error':
      return { status: 200, title: 'Not installed', text: 'The installation was cancelled; nothing was changed.' };
    case 'slack_oauth_invalid_state':
    case 'slack_oauth_missing_state':
      return {
        status: 400,
        title: 'Installation link expired',
        text: `This installation was started in another browser or more than 10 minutes ago. Start again at ${INSTALL_PATH}.`,
      };
    case 'slack_oauth_missing_code':
      return {
        status: 400,
        title: 'Not installed',
        text: `Slack did not complete the installation. Start again at ${INSTALL_PATH}.`,
      };
    default:
      return {
        status: 502,
        title: 'Not installed',
        text: 'The installation could not be completed. Please try again in a minute.',
      };
  }
}

/** An HTML page, with the pages' headers (their Content-Security-Policy among them). */
function sendPage(deps: InstallDeps, res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...deps.pages.headers, 'Content-Length': String(Buffer.byteLength(html)) });
  res.end(html);
}

/**
 * Slack's answer to an install, kept: the installation and its account (and the installer as an
 * AccountAdmin when the account has none) in one transaction, then the page that says so. Bolt
 * is told not to store it again.
 */
async function keepInstallation(deps: InstallDeps, installation: Installation, res: ServerResponse): Promise<boolean> {
  const { logger, pages } = deps;
  const isEnterpriseInstall = installation.isEnterpriseInstall === true;
  const key = {
    teamId: installation.team?.id ?? null,
    enterpriseId: installation.enterprise?.id ?? null,
    isEnterpriseInstall,
  };
  const token = installation.bot?.token;
  if (!token) {
    setOutcome(res, 'failed');
    logger.warn({ team: key.teamId, enterprise: key.enterpriseId }, 'installation without a bot token; not kept');
    sendPage(
      deps,
      res,
      502,
      pages.message('Not installed', 'Slack did not give the app a bot token. Please try again.'),
    );
    return false;
  }
  const installerId = installation.user?.id;
  const profile = installerId ? await deps.installerProfile(token, installerId).catch(() => undefined) : undefined;
  const result = await deps.installations.installed({
    key,
    name: (isEnterpriseInstall ? installation.enterprise?.name : installation.team?.name) ?? null,
    installer: installerId ? { slackUserId: installerId, ...profile } : null,
    data: installation,
  });
  setOutcome(res, 'ok');
  logger.info(
    {
      team: key.teamId,
      enterprise: key.enterpriseId,
      account: result.account.id,
      installer: installerId,
      outcome: result.installer,
      reinstall: result.reinstall,
    },
    'app installed',
  );
  const appId = installation.appId;
  const teamId = key.teamId ?? key.enterpriseId;
  sendPage(
    deps,
    res,
    200,
    pages.installed({
      accountName: result.account.name,
      installer: result.installer,
      reinstall: result.reinstall,
      openSlackUrl: appId && teamId ? `${deps.slackOrigin}/app_redirect?app=${appId}&team=${teamId}` : null,
    }),
  );
  // The installation is kept already, in the same transaction as the account: Bolt need not store it.
  return false;
}

/** An install that did not complete, as a page in the installer's words. */
function installFailed(deps: InstallDeps, error: { code?: string; message?: string }, res: ServerResponse): void {
  const { status, title, text } = failureText(error.code);
  setOutcome(res, status === 502 ? 'failed' : `refused:${error.code ?? 'install'}`);
  deps.logger.warn({ reason: error.code, error: error.message }, 'installation not completed');
  if (!res.headersSent) sendPage(deps, res, status, deps.pages.message(title, text));
  else res.end();
}

/** The HTTPReceiver options that turn the OAuth flow on. */
export function oauthReceiverOptions(
  oauth: NonNullable<Config['slack']['oauth']>,
  clientOptions: WebClientOptions,
  deps: InstallDeps,
): Pick<
  HTTPReceiverOptions,
  'clientId' | 'clientSecret' | 'stateSecret' | 'scopes' | 'installationStore' | 'redirectUri' | 'installerOptions'
> {
  const { pages } = deps;
  const { logger: _ignored, ...installerClientOptions } = clientOptions;
  const afterInstallation = (
    installation: Installation,
    _o: InstallURLOptions,
    _r: IncomingMessage,
    res: ServerResponse,
  ) => deps.inFlight.track(keepInstallation(deps, installation, res));
  const failureAsync = async (
    error: { code?: string; message?: string },
    _o: InstallURLOptions,
    _r: IncomingMessage,
    res: ServerResponse,
  ) => installFailed(deps, error, res);

  return {
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    stateSecret: oauth.stateSecret,
    scopes: BOT_SCOPES,
    installationStore: installationStore(deps.installations.vault),
    redirectUri: `${deps.publicUrl}${OAUTH_REDIRECT_PATH}`,
    installerOptions: {
      installPath: INSTALL_PATH,
      redirectUriPath: OAUTH_REDIRECT_PATH,
      directInstall: false,
      authorizationUrl: `${deps.slackOrigin}/oauth/v2/authorize`,
      clientOptions: installerClientOptions,
      installPathOptions: {
        beforeRedirection: async (_req, res) => {
          for (const [name, value] of Object.entries(pages.headers)) res.setHeader(name, value);
          return true;
        },
      },
      renderHtmlForInstallPath: pages.install,
      callbackOptions: { afterInstallation, failureAsync },
    },
  };
}
