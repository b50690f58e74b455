// Composition: services over the database, the Slack app, the web routes, one HTTP server.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { withDeadline } from './deadline.js';
import { InFlight } from './in-flight.js';
import { startJobs } from './jobs/index.js';
import { JobQueue } from './jobs/queue.js';
import type { Logger } from './logger.js';
import { INSTALL_PATH, SIGNED_IN_PATH } from './paths.js';
import { createServices, type Services } from './services/index.js';
import { RegistrationLinks } from './services/registration-links.js';
import type { Account } from './services/types.js';
import { createSlackApp, SLACK_BODY_LIMIT_BYTES, webClientOptions } from './slack/app.js';
import * as messages from './slack/blocks/messages.js';
import type { SlackDeps } from './slack/context.js';
import { slackError, slackNotifier } from './slack/notify.js';
import { profileOf, slackDirectory } from './slack/people.js';
import { Csrf } from './web/csrf.js';
import { pageHeaders } from './web/http.js';
import { installedPage, installPage, messagePage, STYLE_HASH } from './web/pages.js';
import { sharedLimiter } from './web/rate-limit.js';
import { registrationRoutes } from './web/registration.js';
import { Sealer } from './web/sealed.js';
import { createWebServer } from './web/server.js';
import { SlackSignIn } from './web/slack-sign-in.js';

export interface BotOptions {
  config: Config;
  logger: Logger;
  /** Open and migrated. The bot does not close it. */
  db: Database;
  linkSecret: string;
  now?: () => Date;
}

export interface Bot {
  services: Services;
  /** The workspace's account in single-workspace mode; undefined in multi-workspace mode. */
  account: Account | undefined;
  server: Server;
  /** Starts serving; resolves with the port (0 picks a free one). */
  listen(port?: number): Promise<number>;
  /** Stops taking requests and waits for those in flight (up to `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

const ACK_DEADLINE_MS = 2_000;
const SLACK_LOOKUP_DEADLINE_MS = 2_000;

export class StartupError extends Error {
  override name = 'StartupError';
}

/** The bot token's workspace, which is the account in single-workspace mode. */
async function identifyWorkspace(client: WebClient, logger: Logger) {
  for (let attempt = 1; ; attempt++) {
    try {
      const auth = await client.auth.test();
      if (!auth.team_id) throw new StartupError('Slack did not say which workspace SLACK_BOT_TOKEN belongs to.');
      return {
        teamId: auth.team_id,
        teamName: auth.team ?? null,
        enterpriseId: auth.enterprise_id ?? null,
        botId: auth.bot_id,
        botUserId: auth.user_id,
      };
    } catch (err) {
      if (err instanceof StartupError) throw err;
      const error = slackError(err);
      const refused = (err as { code?: string }).code === 'slack_webapi_platform_error';
      if (refused)
        throw new StartupError(`Slack refused SLACK_BOT_TOKEN (${error}). Copy the Bot User OAuth Token again.`);
      if (attempt >= 4) throw new StartupError(`Could not reach Slack to check SLACK_BOT_TOKEN (${error}).`);
      logger.warn({ error, attempt }, 'Slack not reachable at start; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/**
 * INITIAL_ADMINS, checked with Slack (through the Directory) and with their Slack names. Ids Slack
 * does not know (typos), bots and deactivated users are skipped. The list is applied whole: when
 * Slack could not be asked about an id, nobody is made an admin unchecked or without the others,
 * and the whole list is tried again at the next start.
 */
async function bootstrapInitialAdmins(services: Services, account: Account, ids: string[], logger: Logger) {
  if (ids.length === 0) return;
  const people = [];
  const unchecked: string[] = [];
  for (const slackUserId of ids) {
    const lookup = await services.directory.lookup(account, slackUserId);
    if (!lookup.found && lookup.why === 'unknown') {
      logger.warn({ slackUserId }, 'INITIAL_ADMINS names a user Slack does not know; skipped');
    } else if (!lookup.found) {
      logger.warn({ slackUserId, why: lookup.why }, 'INITIAL_ADMINS: Slack could not be asked about this user');
      unchecked.push(slackUserId);
    } else if (lookup.person.bot || lookup.person.deleted) {
      logger.warn({ slackUserId }, 'INITIAL_ADMINS names a bot or deactivated user; skipped');
    } else {
      people.push({ slackUserId, displayName: lookup.person.displayName, email: lookup.person.email });
    }
  }
  if (unchecked.length) {
    logger.warn({ unchecked }, 'INITIAL_ADMINS not applied: tried again, whole, at the next start');
    return;
  }
  const { promoted } = await services.members.bootstrapAdmins(account.id, people);
  if (promoted.length) logger.info({ promoted }, 'initial AccountAdmins made');
}

/** How the bot reaches Slack: one workspace (SLACK_BOT_TOKEN) or every installed one. */
interface Workspaces {
  /** The single workspace's account; undefined in multi-workspace mode. */
  account: Account | undefined;
  accountFor: SlackDeps['accountFor'];
  /** A client with the bot token of the account's workspace; undefined while not installed there. */
  clientFor(account: Account): Promise<WebClient | undefined>;
  bot?: { botId?: string; botUserId?: string };
}

async function singleWorkspace(config: Config, services: Services, logger: Logger): Promise<Workspaces> {
  const client = new WebClient(config.slack.botToken, webClientOptions(config, { logger }));
  const workspace = await identifyWorkspace(client, logger);
  const account = await services.accounts.ensureWorkspace({
    teamId: workspace.teamId,
    enterpriseId: workspace.enterpriseId,
    name: workspace.teamName,
  });
  return {
    account,
    accountFor: async (teamId) => (teamId === account.slackTeamId ? account : undefined),
    clientFor: async (wanted) => (wanted.id === account.id ? client : undefined),
    bot: { botId: workspace.botId, botUserId: workspace.botUserId },
  };
}

function multiWorkspace(config: Config, services: Services, logger: Logger): Workspaces {
  const installations = services.installations;
  if (!installations) throw new Error('multi-workspace mode needs SLACK_TOKEN_ENCRYPTION_KEY');
  return {
    account: undefined,
    // Read on every request: another process may have installed or uninstalled since.
    accountFor: (teamId, enterpriseId, isEnterpriseInstall) =>
      services.accounts.findForSlack(teamId, enterpriseId, isEnterpriseInstall),
    async clientFor(account) {
      const token = await installations.botToken(account);
      return token ? new WebClient(token, webClientOptions(config, { logger })) : undefined;
    },
  };
}

/** The Slack app: its dependencies, and the install routes in multi-workspace mode. */
function slackSurface(config: Config, services: Services, workspaces: Workspaces, logger: Logger, inFlight: InFlight) {
  const deps: SlackDeps = {
    services,
    logger,
    inFlight,
    ackDeadlineMs: ACK_DEADLINE_MS,
    accountFor: workspaces.accountFor,
    newAdminHint: config.slack.oauth
      ? messages.newAdminByReinstall(`${config.publicUrl ?? ''}${INSTALL_PATH}`)
      : messages.NEW_ADMIN_BY_RESTART,
  };
  return createSlackApp(config, deps, {
    bot: workspaces.bot,
    install: services.installations && {
      installations: services.installations,
      logger,
      inFlight,
      // Multi-workspace mode is HTTP mode, where PUBLIC_URL has its default.
      publicUrl: config.publicUrl ?? '',
      slackOrigin: new URL(config.slack.apiUrl).origin,
      pages: {
        headers: pageHeaders(STYLE_HASH),
        install: installPage,
        installed: installedPage,
        message: messagePage,
      },
      async installerProfile(botToken, slackUserId) {
        const client = new WebClient(botToken, webClientOptions(config, { logger }));
        const { user } = await withDeadline(client.users.info({ user: slackUserId }), SLACK_LOOKUP_DEADLINE_MS);
        return user ? profileOf(user) : undefined;
      },
    },
  });
}

/** The registration link pages: their limits, cookies and Sign in with Slack; none without PUBLIC_URL. */
function registrationPages(options: BotOptions, services: Services, now: () => Date) {
  const { config, logger } = options;
  if (config.publicUrl === undefined) return undefined;
  const publicUrl = new URL(config.publicUrl);
  const limiter = (name: string, points: number) =>
    sharedLimiter(services.rateCounts, logger, { name, points, durationSeconds: 60, now });
  return registrationRoutes({
    services,
    logger,
    limiters: {
      perAddress: limiter('page:address', config.pageRateLimits.perAddress),
      perLink: limiter('page:link', config.pageRateLimits.perLink),
    },
    trustProxyHops: config.trustProxyHops,
    csrf: new Csrf({ secret: options.linkSecret, secure: publicUrl.protocol === 'https:' }),
    publicOrigin: publicUrl.origin,
    sealer: new Sealer(options.linkSecret, now),
    secureCookies: publicUrl.protocol === 'https:',
    appUrl: config.appUrl,
    signIn: config.slack.signIn
      ? new SlackSignIn({
          ...config.slack.signIn,
          apiUrl: config.slack.apiUrl,
          redirectUri: `${config.publicUrl}${SIGNED_IN_PATH}`,
          // Calls that need no bot token: openid.connect.token, with the app's client id and secret.
          client: new WebClient(undefined, webClientOptions(config, { logger })),
          now,
        })
      : undefined,
  });
}

/** What the bot's parts share: the services, the queue and the work in flight. */
function domainFor(options: BotOptions, now: () => Date) {
  const { config, logger, db } = options;
  // The services ask Slack about people, and tell them, through the workspaces' clients, known
  // once they are set up.
  const slackClients: { workspaces?: Workspaces } = {};
  const clientFor = async (account: Account) => slackClients.workspaces?.clientFor(account);
  const inFlight = new InFlight();
  // Work that is not the answer to a request: on the durable queue, worked from `listen` to `stop`.
  const queue = new JobQueue(db.knex, logger);
  const services = createServices({
    knex: db.knex,
    links: new RegistrationLinks({
      publicUrl: config.publicUrl,
      secret: options.linkSecret,
      previousSecrets: config.registrationLink.previousSecrets,
      now,
    }),
    inviteTtlSeconds: config.registrationLink.ttlSeconds,
    reminderBeforeSeconds: config.registrationLink.reminderBeforeSeconds,
    inviteLimitPerDay: config.inviteLimitPerDay,
    tokenEncryptionKey: config.slack.oauth?.tokenEncryptionKey,
    directory: slackDirectory(clientFor, SLACK_LOOKUP_DEADLINE_MS, logger),
    notifier: slackNotifier(clientFor, logger, inFlight),
    jobs: queue,
    multiWorkspace: config.slack.oauth !== undefined,
    sharedLinks: config.slack.signIn !== undefined,
    requestsChannel: config.accessRequestsChannel,
    now,
  });
  return { services, queue, inFlight, slackClients };
}

export async function createBot(options: BotOptions): Promise<Bot> {
  const { config, logger, db } = options;
  const now = options.now ?? (() => new Date());
  const { services, queue, inFlight, slackClients } = domainFor(options, now);
  const workspaces = config.slack.oauth
    ? multiWorkspace(config, services, logger)
    : await singleWorkspace(config, services, logger);
  slackClients.workspaces = workspaces;
  if (workspaces.account) await bootstrapInitialAdmins(services, workspaces.account, config.initialAdmins, logger);

  let stopping = false;
  const slack = slackSurface(config, services, workspaces, logger, inFlight);
  const https = config.publicUrl?.startsWith('https:') === true;
  const server = createWebServer(
    {
      inFlight,
      stopping: () => stopping,
      registration: registrationPages(options, services, now),
      slack: slack.receiver?.requestListener,
      slackInstall: config.slack.oauth !== undefined,
      slackBodyLimit: SLACK_BODY_LIMIT_BYTES,
      strictTransportSecurity: config.nodeEnv === 'production' && https,
      ready: () =>
        withDeadline(db.ping(), 1_000).then(
          () => true,
          () => false,
        ),
    },
    logger,
  );

  return {
    services,
    account: workspaces.account,
    server,
    async listen(port = config.port) {
      await startJobs(queue, services, logger);
      if (config.slack.mode === 'socket') await slack.app.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    },
    async stop(graceMs = 8_000) {
      if (stopping) return;
      stopping = true;
      // No new connections; idle keep-alive ones close now, busy ones after their response.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (config.slack.mode === 'socket') await slack.app.stop().catch(() => {});
      const started = Date.now();
      // Requests and their work after the ack finish first (they may queue jobs), then the jobs
      // in flight finish, or are handed back to run again after the next start.
      // A second of the grace is kept for the jobs.
      const drained = await inFlight.drain(Math.max(0, graceMs - 1_000));
      if (!drained) logger.warn({ unfinished: inFlight.size }, 'stopping with work still in flight');
      const left = Math.max(1_000, graceMs - (Date.now() - started));
      await queue.stop(left).catch((err: unknown) => logger.warn({ err }, 'job queue did not stop cleanly'));
      server.closeAllConnections();
      await closed;
    },
  };
}
