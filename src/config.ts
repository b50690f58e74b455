import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DATABASE_POOLERS = ['none', 'transaction'] as const;
export type DatabasePooler = (typeof DATABASE_POOLERS)[number];

export interface Config {
  nodeEnv: 'production' | 'development' | 'test';
  slack: {
    signingSecret: string | undefined;
    botToken: string | undefined;
    appToken: string | undefined;
    /** Always ends with a slash, as WebClient's slackApiUrl expects. */
    apiUrl: string;
    /** Socket Mode when an app-level token is set, HTTP otherwise. */
    mode: 'http' | 'socket';
    /** Sign in with Slack (OpenID Connect) for shared registration links, when configured. */
    signIn: { clientId: string; clientSecret: string } | undefined;
    /**
     * Multi-workspace mode (SLACK_STATE_SECRET set): Slack's OAuth install flow, one account per
     * workspace (or Enterprise Grid org), each workspace's token kept encrypted in the database.
     * Undefined in single-workspace mode (SLACK_BOT_TOKEN).
     */
    oauth: { clientId: string; clientSecret: string; stateSecret: string; tokenEncryptionKey: string } | undefined;
  };
  databaseUrl: string | undefined;
  /**
   * What stands between the app and PostgreSQL: 'none', or 'transaction', a pooler that lends a
   * server connection for one transaction at a time (PgBouncer's pool_mode = transaction): no
   * named prepared statements, no session settings, the limits set in each transaction.
   */
  databasePooler: DatabasePooler;
  pgliteDataDir: string;
  port: number;
  /**
   * Where the registration pages are, without a trailing slash. Unset in Socket Mode without
   * PUBLIC_URL: no pages (invitations carry only their Accept button).
   */
  publicUrl: string | undefined;
  registrationLink: {
    /** Unset outside production: generated once and kept beside the embedded database. */
    secret: string | undefined;
    /** Keys of a rotation: links they signed still open; only `secret` signs. */
    previousSecrets: string[];
    ttlSeconds: number;
    /** How long before a personal link expires its person is reminded; null: never. */
    reminderBeforeSeconds: number | null;
  };
  initialAdmins: string[];
  logLevel: LogLevel;
  /** How many reverse proxies in front of the bot append to X-Forwarded-For (0: none). */
  trustProxyHops: number;
  /** Registration page requests a minute, per client address and per link (0: no limit). */
  pageRateLimits: { perAddress: number; perLink: number };
  /** Invitations one AccountAdmin may make in a rolling 24 hours (0: no limit). */
  inviteLimitPerDay: number;
  /** The product's own sign-in page, offered to someone who just joined; unset: none. */
  appUrl: string | undefined;
  /**
   * Where access requests go until an admin sets a channel with `/chatbees-users requests channel`
   * (a channel id); single-workspace mode only. Unset: by DM to the admins.
   */
  accessRequestsChannel: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `chatbees-users cannot start; fix these environment variables:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Invitations an AccountAdmin may make in 24 hours unless INVITE_LIMIT_PER_DAY says otherwise. */
export const DEFAULT_INVITE_LIMIT_PER_DAY = 200;

const NODE_ENVS: ReadonlyArray<Config['nodeEnv']> = ['production', 'development', 'test'];

const TTL_UNITS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
const MAX_TTL_SECONDS = 365 * 86_400;

/** "7d", "12h", "30m", "45s" → seconds; undefined when the text is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([dhms])$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * TTL_UNITS[match[2] as keyof typeof TTL_UNITS];
  return seconds > 0 && seconds <= MAX_TTL_SECONDS ? seconds : undefined;
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,20}$/;

const optionalText = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s ? s : undefined));

const httpUrl = () =>
  z.string().refine(
    (s) => {
      try {
        const url = new URL(s);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: 'must be an http(s) URL' },
  );

const schema = z
  .object({
    // Refined rather than z.enum: an enum failure would stop zod before it names the others.
    NODE_ENV: optionalText.refine((v) => v === undefined || NODE_ENVS.includes(v as Config['nodeEnv']), {
      message: `must be one of ${NODE_ENVS.join(', ')}`,
    }),
    SLACK_SIGNING_SECRET: optionalText,
    SLACK_BOT_TOKEN: optionalText.refine((t) => t === undefined || t.startsWith('xoxb-'), {
      message: 'must be a bot token (it starts with xoxb-)',
    }),
    SLACK_CLIENT_ID: optionalText.refine((id) => id === undefined || /^\d+\.\d+$/.test(id), {
      message: 'must look like 1234567890.1234567890 (Basic Information → App Credentials → Client ID)',
    }),
    SLACK_CLIENT_SECRET: optionalText,
    SLACK_STATE_SECRET: optionalText.refine((s) => s === undefined || s.length >= 32, {
      message: 'must be at least 32 characters long',
    }),
    SLACK_TOKEN_ENCRYPTION_KEY: optionalText.refine((s) => s === undefined || s.length >= 32, {
      message: 'must be at least 32 characters long',
    }),
    SLACK_APP_TOKEN: optionalText.refine((t) => t === undefined || t.startsWith('xapp-'), {
      message: 'must be an app-level token (it starts with xapp-)',
    }),
    SLACK_API_URL: optionalText.pipe(httpUrl().optional()),
    DATABASE_URL: optionalText.refine((u) => u === undefined || /^postgres(ql)?:\/\//.test(u), {
      message: 'must be a postgres:// URL',
    }),
    DATABASE_POOLER: optionalText.refine(
      (p) => p === undefined || (DATABASE_POOLERS as readonly string[]).includes(p.toLowerCase()),
      {
        message: `must be one of ${DATABASE_POOLERS.join(', ')} (transaction: PgBouncer with pool_mode = transaction)`,
      },
    ),
    PGLITE_DATA_DIR: optionalText,
    PORT: optionalText.refine((p) => p === undefined || (/^\d{1,5}$/.test(p) && Number(p) <= 65_535), {
      message: 'must be a whole number from 0 to 65535',
    }),
    PUBLIC_URL: optionalText.pipe(httpUrl().optional()),
    REGISTRATION_LINK_SECRET: optionalText.refine((s) => s === undefined || s.length >= 32, {
      message: 'must be at least 32 characters long',
    }),
    REGISTRATION_LINK_PREVIOUS_SECRETS: optionalText.refine(
      (list) => list === undefined || splitList(list).every((key) => key.length >= 32),
      { message: 'must be keys of at least 32 characters each, separated by commas' },
    ),
    REGISTRATION_LINK_TTL: optionalText.refine((t) => t === undefined || parseDuration(t) !== undefined, {
      message: 'must be a duration such as 7d, 12h, 30m or 45s (at most 365d)',
    }),
    INVITE_REMINDER_BEFORE: optionalText.refine(
      (t) => t === undefined || t.toLowerCase() === 'off' || parseDuration(t) !== undefined,
      { message: 'must be a duration such as 1d, 12h or 30m before the link expires, or off' },
    ),
    INITIAL_ADMINS: optionalText.refine(
      (list) => list === undefined || splitList(list).every((id) => SLACK_USER_ID.test(id)),
      { message: 'must be Slack user ids separated by commas, such as U012AB3CD,U045EF6GH' },
    ),
    TRUST_PROXY: optionalText.refine((v) => v === undefined || /^\d{1,2}$/.test(v), {
      message: 'must be the number of proxies in front of the bot (0 when none)',
    }),
    RATE_LIMIT_PER_ADDRESS: optionalText.refine((v) => v === undefined || /^\d{1,9}$/.test(v), {
      message: 'must be a whole number of requests a minute (0: no limit)',
    }),
    RATE_LIMIT_PER_LINK: optionalText.refine((v) => v === undefined || /^\d{1,9}$/.test(v), {
      message: 'must be a whole number of requests a minute (0: no limit)',
    }),
    APP_URL: optionalText.pipe(httpUrl().optional()),
    INVITE_LIMIT_PER_DAY: optionalText.refine((v) => v === undefined || /^\d{1,6}$/.test(v), {
      message: 'must be a whole number of invitations per AccountAdmin in 24 hours (0: no limit)',
    }),
    ACCESS_REQUESTS_CHANNEL: optionalText.refine((c) => c === undefined || SLACK_CHANNEL_ID.test(c), {
      message: "must be a Slack channel id such as C012AB3CD (from the channel's details), not its name",
    }),
    LOG_LEVEL: optionalText.refine((l) => l === undefined || (LOG_LEVELS as readonly string[]).includes(l), {
      message: `must be one of ${LOG_LEVELS.join(', ')}`,
    }),
  })
  .superRefine((env, ctx) => {
    const require = (name: keyof typeof env, why: string) => {
      if (env[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: `required ${why}` });
    };
    const refuse = (name: keyof typeof env, why: string) => {
      if (env[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: why });
    };
    if (env.SLACK_STATE_SECRET !== undefined) {
      // Multi-workspace mode: every workspace's token comes from its installation.
      const multi = 'with SLACK_STATE_SECRET (multi-workspace mode)';
      require('SLACK_CLIENT_ID', multi);
      require('SLACK_CLIENT_SECRET', multi);
      require('SLACK_TOKEN_ENCRYPTION_KEY', `${multi}: the key that encrypts the workspaces' tokens`);
      require('SLACK_SIGNING_SECRET', multi);
      refuse('SLACK_BOT_TOKEN', `not used ${multi}: each workspace's token comes from installing the app; remove it`);
      refuse('SLACK_APP_TOKEN', `not supported ${multi}, which needs HTTP; remove it`);
      refuse(
        'ACCESS_REQUESTS_CHANNEL',
        `not used ${multi}: a channel belongs to one workspace; each workspace's admins choose theirs with /chatbees-users requests channel; remove it`,
      );
      refuse(
        'INITIAL_ADMINS',
        `not used ${multi}: whoever installs the app in a workspace becomes its first AccountAdmin; remove it`,
      );
    } else {
      if (env.SLACK_APP_TOKEN === undefined) {
        require('SLACK_SIGNING_SECRET', 'in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)');
      }
      require('SLACK_BOT_TOKEN', '(the bot token from your Slack app\'s "OAuth & Permissions" page; or set SLACK_STATE_SECRET for multi-workspace mode)');
      if (env.SLACK_CLIENT_ID !== undefined)
        require('SLACK_CLIENT_SECRET', 'with SLACK_CLIENT_ID (Sign in with Slack)');
      if (env.SLACK_CLIENT_ID !== undefined && env.SLACK_APP_TOKEN !== undefined)
        require('PUBLIC_URL', 'with SLACK_CLIENT_ID in Socket Mode: Slack sends people back to its sign-in page');
      if (env.SLACK_CLIENT_SECRET !== undefined)
        require('SLACK_CLIENT_ID', 'with SLACK_CLIENT_SECRET (Sign in with Slack)');
    }
    if (env.DATABASE_POOLER !== undefined && env.DATABASE_POOLER.toLowerCase() !== 'none') {
      require('DATABASE_URL', 'with DATABASE_POOLER (the embedded database has no pooler)');
    }
    if (env.NODE_ENV === 'production') {
      require('REGISTRATION_LINK_SECRET', 'when NODE_ENV=production');
      // Registration links, sign-in cookies and Slack's redirects travel over it.
      // Unset, it is http://localhost:PORT, this machine's own.
      const url = URL.canParse(env.PUBLIC_URL ?? '') ? new URL(env.PUBLIC_URL as string) : undefined;
      if (url && url.protocol !== 'https:' && !LOCAL_HOSTS.has(url.hostname)) {
        ctx.addIssue({
          code: 'custom',
          path: ['PUBLIC_URL'],
          message: 'must be an https:// URL when NODE_ENV=production (http only for localhost)',
        });
      }
    }
  });

/** Hosts a plain-http PUBLIC_URL may name in production: this machine only. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function splitList(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Reads `.env` when present; variables already in the environment win over it. */
export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  envFile = '.env',
): Record<string, string | undefined> {
  if (!existsSync(envFile)) return { ...env };
  return { ...parseEnv(readFileSync(envFile, 'utf8')), ...env };
}

/** Validates the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = readEnvironment()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    // Name the variable and the rule, never the value: some of these are secrets.
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || 'environment';
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError([...new Set(problems)]);
  }
  const e = parsed.data;
  const port = e.PORT === undefined ? 3000 : Number(e.PORT);
  const apiUrl = e.SLACK_API_URL ?? 'https://slack.com/api/';
  return {
    nodeEnv: (e.NODE_ENV as Config['nodeEnv'] | undefined) ?? 'development',
    slack: {
      signingSecret: e.SLACK_SIGNING_SECRET,
      botToken: e.SLACK_BOT_TOKEN,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
      mode: e.SLACK_APP_TOKEN ? 'socket' : 'http',
      signIn:
        e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET
          ? { clientId: e.SLACK_CLIENT_ID, clientSecret: e.SLACK_CLIENT_SECRET }
          : undefined,
      oauth:
        e.SLACK_STATE_SECRET && e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET && e.SLACK_TOKEN_ENCRYPTION_KEY
          ? {
              clientId: e.SLACK_CLIENT_ID,
              clientSecret: e.SLACK_CLIENT_SECRET,
              stateSecret: e.SLACK_STATE_SECRET,
              tokenEncryptionKey: e.SLACK_TOKEN_ENCRYPTION_KEY,
            }
          : undefined,
    },
    databaseUrl: e.DATABASE_URL,
    databasePooler: (e.DATABASE_POOLER?.toLowerCase() as DatabasePooler | undefined) ?? 'none',
    pgliteDataDir: e.PGLITE_DATA_DIR ?? './.data/pglite',
    port,
    // HTTP mode serves Slack on PORT, so the pages default to it; Socket Mode has no such default.
    publicUrl: (e.PUBLIC_URL ?? (e.SLACK_APP_TOKEN ? undefined : `http://localhost:${port}`))?.replace(/\/+$/, ''),
    registrationLink: {
      secret: e.REGISTRATION_LINK_SECRET,
      previousSecrets: splitList(e.REGISTRATION_LINK_PREVIOUS_SECRETS ?? ''),
      ttlSeconds: parseDuration(e.REGISTRATION_LINK_TTL ?? '7d') as number,
      reminderBeforeSeconds:
        (e.INVITE_REMINDER_BEFORE ?? '1d').toLowerCase() === 'off'
          ? null
          : (parseDuration(e.INVITE_REMINDER_BEFORE ?? '1d') as number),
    },
    initialAdmins: [...new Set(splitList(e.INITIAL_ADMINS ?? ''))],
    logLevel: (e.LOG_LEVEL as LogLevel | undefined) ?? 'info',
    trustProxyHops: Number(e.TRUST_PROXY ?? 0),
    pageRateLimits: {
      perAddress: Number(e.RATE_LIMIT_PER_ADDRESS ?? 60),
      perLink: Number(e.RATE_LIMIT_PER_LINK ?? 20),
    },
    inviteLimitPerDay: Number(e.INVITE_LIMIT_PER_DAY ?? DEFAULT_INVITE_LIMIT_PER_DAY),
    appUrl: e.APP_URL,
    accessRequestsChannel: e.ACCESS_REQUESTS_CHANNEL,
  };
}

/** Every secret value in the configuration, for the logger to blank wherever it appears. */
export function secretValues(config: Config): string[] {
  return [
    ...config.registrationLink.previousSecrets,
    config.slack.signingSecret,
    config.slack.botToken,
    config.slack.appToken,
    config.slack.signIn?.clientSecret,
    config.slack.oauth?.stateSecret,
    config.slack.oauth?.tokenEncryptionKey,
    config.databaseUrl,
  ].filter((s): s is string => Boolean(s));
}
