import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';
import { currentRequest } from './request-log.js';

export type { Logger } from 'pino';

const REDACTED = '[redacted]';

// Structured fields that may hold secrets. pino's `*.x` covers one level only, so deeper
// places are listed too; anything that slips through is caught by `scrubText` below.
const REDACT_PATHS = [
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
  '*.token',
  '*.secret',
  '*.password',
  '*.url',
  '*.link',
  '*.registrationUrl',
  '*.authorization',
  '*.cookie',
  '*.signingSecret',
  '*.botToken',
  '*.appToken',
  '*.databaseUrl',
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
      // Every line written while a request is handled names that request.
      mixin: () => {
        const id = currentRequest()?.id;
        return id ? { reqId: id } : {};
      },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      // Redaction covers known fields; the finished line is scrubbed as well, so a secret in a
      // message, an error, a child's bindings or an interpolated object never gets out.
      hooks: { streamWrite: (line) => scrubText(line, secrets) },
      transport: pretty ? { target: 'pino-pretty', options: { colorize: true } } : undefined,
    },
    // Lines go to stdout through a buffer written in the background (pino flushes it when the
    // process exits): a synchronous write per line cost about a fifth of a command's time.
    options.destination ?? (pretty ? undefined : pino.destination({ dest: 1, sync: false })),
  );
}
