import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

const REDACTED = '[redacted]';

// Structured fields that may hold secrets: redacted where they are, and one level down under any
// key (`{ installation: { token } }`). Anything that slips through is caught by `scrubText`.
const SECRET_FIELDS = new Set([
  'token',
  'secret',
  'password',
  'url',
  'link',
  'registrationUrl',
  'authorization',
  'cookie',
  'signingSecret',
  'botToken',
  'appToken',
  'databaseUrl',
]);

// Deeper places, for pino's redaction. The one-level-down rule is not given to pino as `*.x`
// paths: with those, its redaction ran on every field of every line and re-read the paths each
// time (a third of a request's allocations and 4 % of its CPU, measured); `censorOneLevel` does it.
const REDACT_PATHS = [
  ...SECRET_FIELDS,
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
  'req.url',
  // An error that carries the HTTP exchange (Bolt's deferred-request error, HTTP clients'):
  // its headers hold cookies and its URL an OAuth code.
  'err.req',
  'err.res',
  'err.config',
  'err.request',
  'err.response',
  'slack.signingSecret',
  'slack.botToken',
  'slack.appToken',
  'registrationLink.secret',
];

/** A copy of `value` (an Error stays one, message and stack kept) with its secret fields censored. */
function censored(value: object): object {
  const fields: PropertyDescriptorMap = Object.getOwnPropertyDescriptors(value);
  for (const key of Object.keys(value))
    if (SECRET_FIELDS.has(key)) fields[key] = { value: REDACTED, enumerable: true, writable: true, configurable: true };
  return Object.create(Object.getPrototypeOf(value) as object | null, fields);
}

/**
 * The logged object with secret fields one level down censored (the caller's objects are not
 * changed: what has one is copied); the object itself when there is none, as on most lines.
 */
function censorOneLevel(object: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in object) {
    const value = object[key];
    if (value === null || typeof value !== 'object') continue;
    let found = false;
    for (const inner in value) {
      if (SECRET_FIELDS.has(inner) && (value as Record<string, unknown>)[inner] !== undefined) {
        found = true;
        break;
      }
    }
    if (!found) continue;
    out ??= { ...object };
    out[key] = censored(value);
  }
  return out ?? object;
}

const TEXT_PATTERNS: RegExp[] = [
  /xox[a-z]-[A-Za-z0-9-]+/g, // Slack bot, user and config tokens
  /xapp-[A-Za-z0-9-]+/g, // Slack app-level tokens
  /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, // JWTs (registration tokens)
  // (no backslash: inside JSON-encoded text, eating one would unbalance the quotes of the line)
  /(\/register\/)[^\s"'<>?#|\\]+/g, // registration links and their paths
  /(postgres(?:ql)?:\/\/[^:/@\s"\\]+:)[^@\s/"\\]+@/g, // passwords inside database URLs
  // OAuth and OpenID values in JSON, also JSON inside a message (Sign in with Slack's exchange)
  /(\\?"(?:code|client_secret|id_token|access_token|refresh_token|state|nonce)\\?"\s*:\s*\\?")[^"\\]+/g,
];

/** Replaces every secret-looking substring, and every known secret, in a text. */
export function scrubText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 8 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const pattern of TEXT_PATTERNS) {
    out = out.replace(pattern, (_match, prefix?: unknown) =>
      typeof prefix === 'string' ? `${prefix}${prefix.endsWith(':') ? `${REDACTED}@` : REDACTED}` : REDACTED,
    );
  }
  return out;
}

/**
 * Under load the lines are written 4 KB at a time rather than as each comes (each write was a
 * system call and a thread-pool round trip); a quiet process still writes within LOG_FLUSH_MS.
 */
const LOG_BUFFER = 4096;
const LOG_FLUSH_MS = 250;

export interface LoggerOptions {
  level: LogLevel;
  /**
   * Exact secret values (signing secret, tokens, link key) to blank wherever they appear. The
   * array is read at each line, so a secret learnt later (a key read from the database) can be
   * pushed onto it.
   */
  secrets?: readonly string[];
  /** Human-readable output; used only in development on a terminal. */
  pretty?: boolean;
  destination?: DestinationStream;
}

function prettyTransportAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets ?? [];
  const pretty = options.pretty === true && !options.destination && prettyTransportAvailable();
  return pino(
    {
      level: options.level,
      base: { service: 'chatbees-users' },
      formatters: { log: censorOneLevel },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      // Redaction covers known fields; the finished line is scrubbed as well, so a secret in a
      // message, an error, a child's bindings or an interpolated object never gets out.
      hooks: { streamWrite: (line) => scrubText(line, secrets) },
      transport: pretty ? { target: 'pino-pretty', options: { colorize: true } } : undefined,
    },
    // Lines go to stdout through a buffer written in the background (pino flushes it when the
    // process exits): a synchronous write per line cost about a fifth of a command's time.
    options.destination ??
      (pretty
        ? undefined
        : pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER, periodicFlush: LOG_FLUSH_MS })),
  );
}
