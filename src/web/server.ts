// The one HTTP server of a process: health routes, registration pages, and Slack's requests
// (handed to Bolt's receiver, which checks signatures and the replay window).
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { InFlight } from '../in-flight.js';
import type { Logger } from '../logger.js';
import { INSTALL_PATH, OAUTH_REDIRECT_PATH, REGISTER_PATH, SIGNED_IN_PATH, SLACK_EVENTS_PATH } from '../paths.js';
import { carryRecord, newRequestRecord, type RequestRecord, recordOf, setOutcome } from '../request-log.js';
import { pageHeaders, refuseOversized, sendJson } from './http.js';
import { messagePage, STYLE_HASH } from './pages.js';

export interface WebRoutes {
  inFlight: InFlight;
  /** True once a graceful stop began: requests on open connections get 503. */
  stopping(): boolean;
  /** Resolves while the database answers. */
  ready(): Promise<boolean>;
  /** The registration pages; absent when the app serves none (Socket Mode without PUBLIC_URL). */
  registration?: {
    handle(req: IncomingMessage, res: ServerResponse, token: string): Promise<void>;
    signedIn(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void>;
    /** The per-address flood limit of the public pages; false when refused (and answered). */
    admit(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  };
  /** Bolt's HTTP receiver; absent in Socket Mode. */
  slack?: RequestListener;
  /** Multi-workspace mode: Bolt also serves the OAuth install flow. */
  slackInstall?: boolean;
  /** The largest body Slack's endpoint takes. */
  slackBodyLimit?: number;
  /** In production on https: browsers are told to use https only (Strict-Transport-Security). */
  strictTransportSecurity?: boolean;
}

/** A year, and the header browsers keep for this host. */
const HSTS = 'max-age=31536000';

function routeOf(path: string): string {
  if (path === '/healthz' || path === '/readyz' || path === SLACK_EVENTS_PATH) return path;
  if (path === INSTALL_PATH || path === OAUTH_REDIRECT_PATH) return path;
  if (path.startsWith(REGISTER_PATH)) return 'registration page';
  return 'other';
}

function notFound(res: ServerResponse): void {
  const html = messagePage('Not found', 'There is nothing here.');
  res.writeHead(404, pageHeaders(STYLE_HASH));
  res.end(html);
}

/**
 * Hands a request to Bolt, which does not give back its promise: the request is in flight (a
 * graceful stop waits) until it is answered or the client goes away. Work after the answer
 * is tracked where it is started.
 */
function answeredBy(listener: RequestListener, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    res.once('close', resolve);
    listener(req, res);
  });
}

/** The request's line in the log once it is answered: at debug for health checks that succeed. */
function logWhenAnswered(req: IncomingMessage, res: ServerResponse, record: RequestRecord, logger: Logger): void {
  res.once('close', () => {
    // Slack requests are logged by the Bolt middleware once their work is done.
    if (record.slack) return;
    const fields = {
      reqId: record.id,
      method: req.method,
      route: record.route,
      status: res.statusCode,
      outcome: record.outcome,
      ms: Date.now() - record.started,
    };
    const quiet = (record.route === '/healthz' || record.route === '/readyz') && res.statusCode === 200;
    if (quiet) logger.debug(fields, 'request');
    else logger.info(fields, 'request');
  });
}

/** A request that threw: 503 while the database is down, else 500; never a stack trace. */
function failed(res: ServerResponse, path: string, err: unknown, logger: Logger): void {
  // The path may hold a token, so it is not logged.
  const unavailable = isDatabaseUnavailable(err);
  const route = routeOf(path);
  setOutcome(res, unavailable ? 'unavailable' : 'error');
  const reqId = recordOf(res)?.id;
  if (unavailable) logger.warn({ reqId, route, error: (err as Error).message }, 'database unavailable');
  else logger.error({ reqId, err, route }, 'request failed');
  if (res.headersSent) return void res.end();
  res.writeHead(unavailable ? 503 : 500, {
    ...pageHeaders(STYLE_HASH),
    ...(unavailable ? { 'Retry-After': '60' } : {}),
  });
  res.end(
    unavailable
      ? messagePage('Temporarily unavailable', 'ChatBees user admin is temporarily unavailable. Try again in a minute.')
      : messagePage('Something went wrong', 'Please try again in a minute.'),
  );
}

/** Slack's own paths: the events endpoint (POST) and, in multi-workspace mode, the install flow. */
async function slackRoute(routes: WebRoutes, req: IncomingMessage, res: ServerResponse, path: string) {
  const slack = routes.slack as RequestListener;
  if (path === INSTALL_PATH || path === OAUTH_REDIRECT_PATH) {
    // GET only: Bolt's installer serves nothing else (it throws, with the request attached).
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET' });
      return void res.end();
    }
    // Both count against the pages' per-address limit: a flood of made-up codes on the way
    // back would make Slack rate-limit the app for everyone (a real install's return is one
    // request; refused, the person installs again).
    if (routes.registration && !(await routes.registration.admit(req, res))) return;
    return answeredBy(slack, req, res);
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' });
    return void res.end();
  }
  if (routes.slackBodyLimit !== undefined && refuseOversized(req, res, routes.slackBodyLimit)) return;
  return answeredBy(slack, req, res);
}

/** Which route answers `path`, and its answer. */
async function route(routes: WebRoutes, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (routes.stopping()) {
    res.writeHead(503, { 'Retry-After': '5', Connection: 'close', 'Content-Type': 'text/plain' });
    return void res.end('shutting down');
  }
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (path === '/healthz' && read) return sendJson(res, 200, { status: 'ok' });
  if (path === '/readyz' && read) {
    const ready = await routes.ready();
    return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'database unavailable' });
  }
  if (!routes.registration && (path === SIGNED_IN_PATH || path.startsWith(REGISTER_PATH))) return notFound(res);
  if (path === SIGNED_IN_PATH && routes.registration) {
    return routes.registration.signedIn(req, res, new URL(req.url ?? '/', 'http://x').searchParams);
  }
  if (path.startsWith(REGISTER_PATH) && routes.registration) {
    let token: string;
    try {
      token = decodeURIComponent(path.slice(REGISTER_PATH.length));
    } catch {
      return notFound(res);
    }
    return routes.registration.handle(req, res, token);
  }
  const install = (path === INSTALL_PATH || path === OAUTH_REDIRECT_PATH) && routes.slackInstall;
  if (routes.slack && (install || path === SLACK_EVENTS_PATH)) return slackRoute(routes, req, res, path);
  return notFound(res);
}

export function createWebServer(routes: WebRoutes, logger: Logger): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const record = newRequestRecord({ route: routeOf(path) });
    if (routes.strictTransportSecurity) res.setHeader('Strict-Transport-Security', HSTS);
    logWhenAnswered(req, res, record, logger);
    carryRecord(record, req, res);
    routes.inFlight.track(route(routes, req, res, path)).catch((err: unknown) => failed(res, path, err, logger));
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
