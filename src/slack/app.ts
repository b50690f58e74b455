// Bolt wiring: one App, the permission middleware, and the listeners grouped by kind.
import { App, HTTPReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Config } from '../config.js';
import { boltLogger } from './bolt-logger.js';
import type { SlackDeps } from './context.js';
import * as actions from './listeners/actions.js';
import * as command from './listeners/command.js';
import * as views from './listeners/views.js';
import { permissionMiddleware } from './middleware/permission.js';
import { patientFetch } from './patient-fetch.js';

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

export interface SlackApp {
  app: App;
  /** Bolt's HTTP request listener for POST /slack/events; undefined in Socket Mode. */
  receiver?: HTTPReceiver;
}

export function createSlackApp(config: Config, deps: SlackDeps, bot: { botId?: string; botUserId?: string }): SlackApp {
  const logger = boltLogger(deps.logger);
  const common = {
    token: config.slack.botToken,
    botId: bot.botId,
    botUserId: bot.botUserId,
    logger,
    clientOptions: webClientOptions(config, deps),
    // Bolt's default conversation store keeps state in memory; we keep none.
    convoStore: false as const,
  };
  let slack: SlackApp;
  if (config.slack.mode === 'socket') {
    slack = { app: new App({ ...common, socketMode: true, appToken: config.slack.appToken }) };
  } else {
    const receiver = new HTTPReceiver({
      signingSecret: config.slack.signingSecret ?? '',
      endpoints: '/slack/events',
      logger,
    });
    slack = { app: new App({ ...common, receiver }), receiver };
  }
  const { app } = slack;
  // Listener work continues after the ack; a graceful stop waits for it.
  app.use(async ({ next }) => {
    await deps.inFlight.track(next());
  });
  app.use(permissionMiddleware(deps));
  command.register(app, deps);
  actions.register(app, deps);
  views.register(app, deps);
  app.error(async (error) => {
    deps.logger.error({ err: error }, 'unhandled error in a Slack listener');
  });
  return slack;
}
