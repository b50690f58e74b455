// Bolt wiring: one App, the permission middleware, and the listeners grouped by kind.
import { App, ErrorCode, HTTPReceiver } from '@slack/bolt';
import type { ExtendedErrorHandler } from '@slack/bolt/dist/App.js';
import type { WebClientOptions } from '@slack/web-api';
import type { Config } from '../config.js';
import { SLACK_EVENTS_PATH } from '../paths.js';
import { carryRecord, newRequestRecord, type RequestRecord, recordOf, setOutcome } from '../request-log.js';
import { UNAVAILABLE } from './blocks/messages.js';
import { boltLogger } from './bolt-logger.js';
import type { SlackDeps } from './context.js';
import { authorizationFailure } from './installation-store.js';
import * as actions from './listeners/actions.js';
import * as command from './listeners/command.js';
import * as home from './listeners/home.js';
import * as installs from './listeners/installs.js';
import * as slackUsers from './listeners/slack-users.js';
import * as views from './listeners/views.js';
import { permissionMiddleware } from './middleware/permission.js';
import { type InstallDeps, oauthReceiverOptions } from './oauth.js';
import { patientFetch } from './patient-fetch.js';
import { Router } from './router.js';

/**
 * Web API settings: Slack's URL (or GovSlack's, or a stand-in); a short timeout and two
 * retries with backoff for network errors and 5xx; short rate-limit waits only (see
 * patient-fetch.ts). Every call happens after the ack, so none of this can make an ack late.
 */
export function webClientOptions(config: Config, deps: Pick<SlackDeps, 'logger'>): WebClientOptions {
  return {
    slackApiUrl: config.slack.apiUrl,
    logger: boltLogger(deps.logger),
    timeout: 4_000,
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1_000, randomize: true },
    rejectRateLimitedCalls: true,
    fetch: patientFetch(),
  };
}

type SlackBody = {
  command?: string;
  text?: string;
  type?: string;
  team_id?: string;
  user_id?: string;
  team?: { id?: string } | null;
  user?: { id?: string; team_id?: string } | string;
  actions?: Array<{ action_id?: string }>;
  view?: { callback_id?: string };
  event?: { type?: string; user?: string | { id?: string } };
  response_url?: string;
};

/** What a Slack request is, for the log: never the command's arguments. */
function describe(body: SlackBody): NonNullable<RequestRecord['slack']> {
  const eventUser = body.event?.user;
  const user =
    typeof body.user === 'object'
      ? body.user?.id
      : (body.user_id ?? (typeof eventUser === 'object' ? eventUser?.id : eventUser));
  const team =
    body.team_id ?? (body.team ?? undefined)?.id ?? (typeof body.user === 'object' ? body.user?.team_id : undefined);
  if (body.command) {
    const word = (body.text ?? '').trim().split(/\s+/)[0]?.toLowerCase().slice(0, 20) || 'console';
    return { team, user, kind: 'command', name: word };
  }
  if (body.type === 'block_actions') return { team, user, kind: 'action', name: body.actions?.[0]?.action_id ?? '' };
  if (body.type === 'view_submission') return { team, user, kind: 'view', name: body.view?.callback_id ?? '' };
  return { team, user, kind: body.type ?? 'event', name: body.event?.type ?? '' };
}

/** Slack's own payloads are a few KB; anything near this is not from Slack. */
export const SLACK_BODY_LIMIT_BYTES = 512 * 1024;

/** Said when a workspace's installation is stored but cannot be read (a changed encryption key). */
export const INSTALLATION_UNREADABLE =
  "ChatBees user admin could not read this workspace's installation; nothing was changed. " +
  'Whoever runs the app can see why in its log; installing the app again may be needed.';

/** Slack's response URLs (hooks.slack.com, or GovSlack's), or a stand-in at SLACK_API_URL. */
function isResponseUrl(url: string, apiUrl: string): boolean {
  try {
    const target = new URL(url);
    const api = new URL(apiUrl);
    return target.origin === api.origin || (target.protocol === 'https:' && target.host === `hooks.${api.host}`);
  } catch {
    return false;
  }
}

/**
 * Multi-workspace mode: Bolt could not read the installation of the workspace a request came
 * from. Bolt acks with nothing, once this returns, and no listener runs. With no installation
 * (uninstalled, tokens revoked) that is not a bug; with the database out of reach or a row that
 * cannot be decrypted it is, and the person who typed a command or pressed a message button is
 * told through response_url, after the ack (Slack gives the ack 3 seconds).
 */
function notAuthorized(deps: SlackDeps, apiUrl: string, error: unknown, body: SlackBody): void {
  const failure = authorizationFailure(error);
  if (failure.kind === 'not_installed') {
    deps.logger.warn(
      { outcome: 'refused:not_installed' },
      'request from a workspace where the app is not installed; ignored',
    );
    return;
  }
  // Bolt gives this handler no context of the request: the outcome is said in the line.
  const outcome = failure.kind;
  if (failure.kind === 'unavailable')
    deps.logger.warn({ outcome, error: failure.error.message }, 'database unavailable');
  else deps.logger.error({ outcome, err: failure.error }, "the workspace's installation could not be read");
  const responseUrl = body.response_url;
  if (!responseUrl || !isResponseUrl(responseUrl, apiUrl)) return;
  const text = failure.kind === 'unavailable' ? UNAVAILABLE : INSTALLATION_UNREADABLE;
  const tell = async () => {
    try {
      await fetch(responseUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
        signal: AbortSignal.timeout(4_000),
      });
    } catch (err) {
      deps.logger.warn({ error: (err as Error).message }, 'could not answer through response_url');
    }
  };
  // Not awaited: Bolt acks once the error handler returns. A graceful stop waits for it.
  void deps.inFlight.track(tell());
}

/** Where the web server's record of a request travels in Bolt's context. */
const REQUEST_RECORD = 'requestRecord';

export interface SlackApp {
  app: App;
  /** Bolt's HTTP request listener for POST /slack/events; undefined in Socket Mode. */
  receiver?: HTTPReceiver;
}

export function createSlackApp(
  config: Config,
  deps: SlackDeps,
  options: {
    /** Single-workspace mode: the bot of SLACK_BOT_TOKEN. */
    bot?: { botId?: string; botUserId?: string };
    /** Multi-workspace mode: what the OAuth install flow needs. */
    install?: InstallDeps;
  },
): SlackApp {
  const logger = boltLogger(deps.logger);
  const { bot, install } = options;
  const oauth = config.slack.oauth;
  if (oauth && !install) throw new Error('multi-workspace mode needs the install dependencies');
  const common = {
    // Multi-workspace mode: each request's token comes from its workspace's installation.
    token: oauth ? undefined : config.slack.botToken,
    botId: bot?.botId,
    botUserId: bot?.botUserId,
    logger,
    clientOptions: webClientOptions(config, deps),
    // Bolt's default conversation store keeps state in memory; we keep none.
    convoStore: false as const,
    // Bolt's filter of the app's own events looks for message events and events whose `user` is
    // the bot: the app subscribes to neither (manifest.yml), and the filter was a middleware
    // more on every request.
    ignoreSelf: false,
    // Error handlers get the request's body: a command refused before any listener can still
    // be answered through its response_url.
    extendedErrorHandler: true,
  };
  let slack: SlackApp;
  if (config.slack.mode === 'socket') {
    slack = { app: new App({ ...common, socketMode: true, appToken: config.slack.appToken }) };
  } else {
    const receiver = new HTTPReceiver({
      signingSecret: config.slack.signingSecret ?? '',
      endpoints: SLACK_EVENTS_PATH,
      logger,
      bodyLimit: SLACK_BODY_LIMIT_BYTES,
      // The web server's record of the request, into Bolt's context for the middleware.
      customPropertiesExtractor: (req) => ({ [REQUEST_RECORD]: recordOf(req) }),
      ...(oauth && install ? oauthReceiverOptions(oauth, webClientOptions(config, deps), install) : {}),
    });
    slack = { app: new App({ ...common, receiver }), receiver };
  }
  const { app } = slack;
  // One log line per Slack request once all its work (after the ack too) is done; a graceful
  // stop waits for that work.
  app.use(async ({ body, context, next }) => {
    // The HTTP request's record (customPropertiesExtractor); Socket Mode has no HTTP request.
    const fromHttp = (context as { [REQUEST_RECORD]?: RequestRecord })[REQUEST_RECORD];
    const record = fromHttp ?? newRequestRecord();
    carryRecord(record, context);
    record.slack = describe(body as SlackBody);
    const work = async () => {
      try {
        await next();
        setOutcome(context, 'ok');
      } catch (err) {
        setOutcome(context, 'error');
        throw err;
      } finally {
        const { team, user, kind, name } = record.slack ?? {};
        deps.logger.info(
          { reqId: record.id, team, user, kind, name, outcome: record.outcome, ms: Date.now() - record.started },
          'slack request',
        );
      }
    };
    await deps.inFlight.track(work());
  });
  app.use(permissionMiddleware(deps));
  // Handlers are looked up by the last middleware, not registered as Bolt listeners (router.ts).
  const router = new Router();
  command.register(router, deps);
  actions.register(router, deps);
  views.register(router, deps);
  home.register(router, deps);
  slackUsers.register(router, deps);
  installs.register(router, deps);
  app.use(router.middleware());
  const onError: ExtendedErrorHandler = async ({ error, body, context }) => {
    if ((error as { code?: string }).code === ErrorCode.AuthorizationError) {
      notAuthorized(deps, config.slack.apiUrl, error, body as SlackBody);
      return;
    }
    deps.logger.error({ reqId: recordOf(context)?.id, err: error }, 'unhandled error in a Slack listener');
  };
  app.error(onError);
  return slack;
}
