// The environment the bot starts from: defaults, every rule on every variable, errors that
// name each bad variable (and never a secret's value), and the optional .env file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, readEnvironment, secretValues } from '../src/config.js';

const MINIMAL = { SLACK_SIGNING_SECRET: 'signing-secret-for-tests', SLACK_BOT_TOKEN: 'xoxb-1-2-abc' };

/** The ConfigError loadConfig throws for `env`; fails the test when it accepts it. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(Object.keys(env))}`);
}

/** The variables a ConfigError names, from its problems list. */
function named(err: ConfigError): string[] {
  return err.problems.map((p) => p.split(':')[0] ?? '');
}

describe('loadConfig defaults', () => {
  it('fills every default from a minimal HTTP-mode environment', () => {
    const config = loadConfig({ ...MINIMAL });
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.slack.mode).toBe('http');
    expect(config.slack.signingSecret).toBe(MINIMAL.SLACK_SIGNING_SECRET);
    expect(config.slack.botToken).toBe(MINIMAL.SLACK_BOT_TOKEN);
    expect(config.slack.appToken).toBeUndefined();
    expect(config.pgliteDataDir).toBe('./.data/pglite');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.registrationLink.ttlSeconds).toBe(604_800);
    expect(config.registrationLink.secret).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.nodeEnv).toBe('development');
    expect(config.initialAdmins).toEqual([]);
    expect(config.inviteLimitPerDay).toBe(200);
  });

  it('needs an https PUBLIC_URL in production, localhost aside', () => {
    const production = { ...MINIMAL, NODE_ENV: 'production', REGISTRATION_LINK_SECRET: 'x'.repeat(40) };
    expect(named(configError({ ...production, PUBLIC_URL: 'http://bees.example.com' }))).toEqual(['PUBLIC_URL']);
    for (const ok of ['https://bees.example.com', 'http://localhost:3000', 'http://127.0.0.1:3000', undefined]) {
      expect(loadConfig({ ...production, PUBLIC_URL: ok }).publicUrl, ok).toBeTruthy();
    }
    expect(loadConfig({ ...MINIMAL, PUBLIC_URL: 'http://bees.example.com' }).publicUrl).toBe('http://bees.example.com');
  });

  it('reads DATABASE_POOLER: none unless said, transaction only with DATABASE_URL', () => {
    const url = { DATABASE_URL: 'postgres://bees@pgbouncer.internal:6432/bees' };
    expect(loadConfig({ ...MINIMAL }).databasePooler).toBe('none');
    expect(loadConfig({ ...MINIMAL, ...url }).databasePooler).toBe('none');
    expect(loadConfig({ ...MINIMAL, ...url, DATABASE_POOLER: 'Transaction' }).databasePooler).toBe('transaction');
    expect(loadConfig({ ...MINIMAL, DATABASE_POOLER: 'none' }).databasePooler).toBe('none');
    expect(named(configError({ ...MINIMAL, ...url, DATABASE_POOLER: 'session' }))).toEqual(['DATABASE_POOLER']);
    const embedded = configError({ ...MINIMAL, DATABASE_POOLER: 'transaction' });
    expect(named(embedded)).toEqual(['DATABASE_URL']);
    expect(embedded.message).toContain('the embedded database has no pooler');
  });

  it('reads APP_URL, a URL', () => {
    expect(loadConfig({ ...MINIMAL, APP_URL: 'https://app.example.com/login' }).appUrl).toBe(
      'https://app.example.com/login',
    );
    expect(named(configError({ ...MINIMAL, APP_URL: 'app' }))).toEqual(['APP_URL']);
  });

  it('reads INVITE_LIMIT_PER_DAY (0: no limit) and refuses what is not a count', () => {
    expect(loadConfig({ ...MINIMAL, INVITE_LIMIT_PER_DAY: '0' }).inviteLimitPerDay).toBe(0);
    expect(loadConfig({ ...MINIMAL, INVITE_LIMIT_PER_DAY: '25' }).inviteLimitPerDay).toBe(25);
    for (const bad of ['-1', 'lots', '1.5']) {
      expect(named(configError({ ...MINIMAL, INVITE_LIMIT_PER_DAY: bad }))).toEqual(['INVITE_LIMIT_PER_DAY']);
    }
  });

  it('reads INVITE_REMINDER_BEFORE (default 1d, off: none) and refuses what is not a duration', () => {
    expect(loadConfig(MINIMAL).registrationLink.reminderBeforeSeconds).toBe(86_400);
    expect(loadConfig({ ...MINIMAL, INVITE_REMINDER_BEFORE: '6h' }).registrationLink.reminderBeforeSeconds).toBe(
      21_600,
    );
    expect(loadConfig({ ...MINIMAL, INVITE_REMINDER_BEFORE: 'OFF' }).registrationLink.reminderBeforeSeconds).toBeNull();
    for (const bad of ['soon', '0d', '-1h', '1w']) {
      expect(named(configError({ ...MINIMAL, INVITE_REMINDER_BEFORE: bad }))).toEqual(['INVITE_REMINDER_BEFORE']);
    }
  });

  it('reads ACCESS_REQUESTS_CHANNEL (none by default), a channel id and not a name', () => {
    expect(loadConfig({ ...MINIMAL }).accessRequestsChannel).toBeUndefined();
    expect(loadConfig({ ...MINIMAL, ACCESS_REQUESTS_CHANNEL: 'C012AB3CD' }).accessRequestsChannel).toBe('C012AB3CD');
    expect(loadConfig({ ...MINIMAL, ACCESS_REQUESTS_CHANNEL: 'G012AB3CD' }).accessRequestsChannel).toBe('G012AB3CD');
    for (const bad of ['#access-requests', 'access-requests', 'U012AB3CD']) {
      const err = configError({ ...MINIMAL, ACCESS_REQUESTS_CHANNEL: bad });
      expect(named(err)).toEqual(['ACCESS_REQUESTS_CHANNEL']);
      expect(err.message).toMatch(/must be a Slack channel id/);
    }
  });

  it('derives PUBLIC_URL from PORT when only PORT is set', () => {
    const config = loadConfig({ ...MINIMAL, PORT: '8080' });
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe('http://localhost:8080');
  });

  it('accepts the ends of the port range', () => {
    expect(loadConfig({ ...MINIMAL, PORT: '0' }).port).toBe(0);
    expect(loadConfig({ ...MINIMAL, PORT: '65535' }).port).toBe(65_535);
  });

  it('keeps a given PUBLIC_URL, without its trailing slash', () => {
    const config = loadConfig({ ...MINIMAL, PORT: '8080', PUBLIC_URL: 'https://bees.example/' });
    expect(config.publicUrl).toBe('https://bees.example');
  });

  it('adds the trailing slash SLACK_API_URL needs, and keeps one already there', () => {
    expect(loadConfig({ ...MINIMAL, SLACK_API_URL: 'http://127.0.0.1:9999/api' }).slack.apiUrl).toBe(
      'http://127.0.0.1:9999/api/',
    );
    expect(loadConfig({ ...MINIMAL, SLACK_API_URL: 'http://127.0.0.1:9999/api/' }).slack.apiUrl).toBe(
      'http://127.0.0.1:9999/api/',
    );
  });

  it('reads the optional settings it is given', () => {
    const config = loadConfig({
      ...MINIMAL,
      DATABASE_URL: 'postgresql://u:p@db.example/bees',
      PGLITE_DATA_DIR: '/var/lib/bees/pglite',
      REGISTRATION_LINK_TTL: '12h',
      LOG_LEVEL: 'debug',
    });
    expect(config.databaseUrl).toBe('postgresql://u:p@db.example/bees');
    expect(config.pgliteDataDir).toBe('/var/lib/bees/pglite');
    expect(config.registrationLink.ttlSeconds).toBe(43_200);
    expect(config.logLevel).toBe('debug');
  });

  it('treats blank values as unset', () => {
    const config = loadConfig({ ...MINIMAL, PORT: '  ', LOG_LEVEL: '', PUBLIC_URL: '' });
    expect(config.port).toBe(3000);
    expect(config.logLevel).toBe('info');
    expect(config.publicUrl).toBe('http://localhost:3000');
  });

  it('uses Socket Mode with an app-level token, and then needs no signing secret', () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-A1-2-def' });
    expect(config.slack.mode).toBe('socket');
    expect(config.slack.appToken).toBe('xapp-1-A1-2-def');
    expect(config.slack.signingSecret).toBeUndefined();
  });

  it('in Socket Mode serves no pages unless PUBLIC_URL is set, and needs it for Sign in with Slack', () => {
    const socket = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-A1-2-def' };
    expect(loadConfig(socket).publicUrl).toBeUndefined();
    expect(loadConfig({ ...socket, PUBLIC_URL: 'https://bees.example/' }).publicUrl).toBe('https://bees.example');
    const signIn = { ...socket, SLACK_CLIENT_ID: '123.456', SLACK_CLIENT_SECRET: 'client-secret-for-tests' };
    expect(named(configError(signIn))).toEqual(['PUBLIC_URL']);
    expect(loadConfig({ ...signIn, PUBLIC_URL: 'https://bees.example' }).slack.signIn).toBeDefined();
  });

  it('splits INITIAL_ADMINS on commas, trimmed and without duplicates', () => {
    expect(loadConfig({ ...MINIMAL, INITIAL_ADMINS: 'U1AAA, W2BBB,,U1AAA' }).initialAdmins).toEqual(['U1AAA', 'W2BBB']);
  });

  it('accepts production with a long enough REGISTRATION_LINK_SECRET', () => {
    const secret = 'p'.repeat(32);
    const config = loadConfig({ ...MINIMAL, NODE_ENV: 'production', REGISTRATION_LINK_SECRET: secret });
    expect(config.nodeEnv).toBe('production');
    expect(config.registrationLink.secret).toBe(secret);
  });
});

describe('loadConfig errors', () => {
  it('names both Slack credentials when the environment is empty', () => {
    const err = configError({});
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.name).toBe('ConfigError');
    expect(named(err).sort()).toEqual(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
    expect(err.message).toContain('SLACK_SIGNING_SECRET');
    expect(err.message).toContain('SLACK_BOT_TOKEN');
  });

  it('still needs the bot token in Socket Mode', () => {
    expect(named(configError({ SLACK_APP_TOKEN: 'xapp-1-A1-2-def' }))).toEqual(['SLACK_BOT_TOKEN']);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['REGISTRATION_LINK_TTL', '7 weeks'],
    ['REGISTRATION_LINK_TTL', '0s'],
    ['REGISTRATION_LINK_TTL', '400d'],
    ['INITIAL_ADMINS', 'alice'],
    ['INITIAL_ADMINS', 'U1AAA,bob'],
    ['LOG_LEVEL', 'loud'],
    ['SLACK_BOT_TOKEN', 'xoxp-1-2-user-token'],
    ['SLACK_APP_TOKEN', 'xoxb-not-an-app-token'],
    ['DATABASE_URL', 'mysql://x'],
    ['PUBLIC_URL', 'not a url'],
    ['PUBLIC_URL', 'ftp://bees.example'],
    ['SLACK_API_URL', 'not a url'],
    ['REGISTRATION_LINK_SECRET', 'x'.repeat(31)],
    ['REGISTRATION_LINK_PREVIOUS_SECRETS', `${'x'.repeat(40)},short`],
    ['NODE_ENV', 'staging'],
  ])('names %s when it is %j', (name, value) => {
    const err = configError({ ...MINIMAL, [name]: value });
    expect(named(err)).toEqual([name]);
    expect(err.message).toContain(`${name}:`);
  });

  it('names every bad variable in one error', () => {
    const err = configError({
      SLACK_BOT_TOKEN: 'xoxp-1-2-user-token',
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      REGISTRATION_LINK_TTL: '1w',
      PUBLIC_URL: 'not a url',
    });
    expect(named(err).sort()).toEqual([
      'LOG_LEVEL',
      'PORT',
      'PUBLIC_URL',
      'REGISTRATION_LINK_TTL',
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
    ]);
    for (const name of named(err)) expect(err.message).toContain(name);
    expect(err.message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(6);
  });

  it('names the missing credentials too when NODE_ENV is not a known value', () => {
    // Every bad variable in one go: fixing NODE_ENV should not reveal a second round of errors.
    const err = configError({ NODE_ENV: 'staging' });
    expect(named(err).sort()).toEqual(['NODE_ENV', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
  });

  it('reads previous link keys as a comma-separated list, none by default', () => {
    expect(loadConfig(MINIMAL).registrationLink.previousSecrets).toEqual([]);
    const a = 'a'.repeat(32);
    const b = 'b'.repeat(40);
    const config = loadConfig({ ...MINIMAL, REGISTRATION_LINK_PREVIOUS_SECRETS: ` ${a}, ${b} ,` });
    expect(config.registrationLink.previousSecrets).toEqual([a, b]);
  });

  it('refuses production without REGISTRATION_LINK_SECRET', () => {
    const err = configError({ ...MINIMAL, NODE_ENV: 'production' });
    expect(named(err)).toEqual(['REGISTRATION_LINK_SECRET']);
    expect(err.message).toContain('REGISTRATION_LINK_SECRET');
    expect(err.message).toContain('production');
  });

  it('never repeats the value of a secret it rejects', () => {
    const secrets = {
      REGISTRATION_LINK_SECRET: 'short-link-secret-Zq81',
      SLACK_BOT_TOKEN: 'xoxp-9876-5432-userTokenValue',
      SLACK_APP_TOKEN: 'not-an-app-token-Kw77',
      DATABASE_URL: 'mysql://root:dbPassword-Yv42@db.example/bees',
      SLACK_SIGNING_SECRET: 'signing-secret-Hh35',
    };
    const err = configError({ ...secrets, PORT: 'abc' });
    expect(named(err).sort()).toEqual([
      'DATABASE_URL',
      'PORT',
      'REGISTRATION_LINK_SECRET',
      'SLACK_APP_TOKEN',
      'SLACK_BOT_TOKEN',
    ]);
    const shown = [err.message, String(err), JSON.stringify(err.problems), err.stack ?? ''].join('\n');
    for (const value of Object.values(secrets)) expect(shown).not.toContain(value);
    expect(shown).not.toContain('dbPassword-Yv42');
    expect(shown).not.toContain('userTokenValue');
  });
});

describe('multi-workspace mode', () => {
  const MULTI = {
    SLACK_SIGNING_SECRET: 'signing-secret-for-tests',
    SLACK_CLIENT_ID: '1234.5678',
    SLACK_CLIENT_SECRET: 'client-secret-for-tests',
    SLACK_STATE_SECRET: 'state-secret-for-tests-0123456789abcdef',
    SLACK_TOKEN_ENCRYPTION_KEY: 'token-key-for-tests-0123456789abcdefgh',
  };

  it('turns on with SLACK_STATE_SECRET and needs no bot token', () => {
    const config = loadConfig({ ...MULTI });
    expect(config.slack.oauth).toEqual({
      clientId: MULTI.SLACK_CLIENT_ID,
      clientSecret: MULTI.SLACK_CLIENT_SECRET,
      stateSecret: MULTI.SLACK_STATE_SECRET,
      tokenEncryptionKey: MULTI.SLACK_TOKEN_ENCRYPTION_KEY,
    });
    expect(config.slack.botToken).toBeUndefined();
    expect(config.slack.mode).toBe('http');
    // Sign in with Slack comes with the same app credentials.
    expect(config.slack.signIn).toEqual({ clientId: MULTI.SLACK_CLIENT_ID, clientSecret: MULTI.SLACK_CLIENT_SECRET });
    expect(secretValues(config)).toEqual(
      expect.arrayContaining([MULTI.SLACK_STATE_SECRET, MULTI.SLACK_TOKEN_ENCRYPTION_KEY, MULTI.SLACK_CLIENT_SECRET]),
    );
  });

  it('is off without SLACK_STATE_SECRET', () => {
    expect(loadConfig({ ...MINIMAL }).slack.oauth).toBeUndefined();
  });

  it('names what it is missing: the app credentials, the signing secret and the token key', () => {
    const err = configError({ SLACK_STATE_SECRET: MULTI.SLACK_STATE_SECRET });
    expect(named(err).sort()).toEqual([
      'SLACK_CLIENT_ID',
      'SLACK_CLIENT_SECRET',
      'SLACK_SIGNING_SECRET',
      'SLACK_TOKEN_ENCRYPTION_KEY',
    ]);
    expect(err.message).toMatch(/multi-workspace mode/);
  });

  it('refuses the single-workspace settings it would ignore, each with the reason', () => {
    const err = configError({
      ...MULTI,
      SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
      SLACK_APP_TOKEN: 'xapp-1-abc',
      INITIAL_ADMINS: 'U012AB3CD',
      ACCESS_REQUESTS_CHANNEL: 'C012AB3CD',
    });
    expect(named(err).sort()).toEqual([
      'ACCESS_REQUESTS_CHANNEL',
      'INITIAL_ADMINS',
      'SLACK_APP_TOKEN',
      'SLACK_BOT_TOKEN',
    ]);
    expect(err.message).toMatch(/ACCESS_REQUESTS_CHANNEL: not used .*requests channel/);
    expect(err.message).toMatch(/SLACK_BOT_TOKEN: not used .*installing the app/);
    expect(err.message).toMatch(/INITIAL_ADMINS: not used .*becomes its first AccountAdmin/);
    expect(err.message).not.toContain('xoxb-1-2-abc');
  });

  it('needs long secrets, and never repeats them', () => {
    const err = configError({
      ...MULTI,
      SLACK_STATE_SECRET: 'short-state-Qx1',
      SLACK_TOKEN_ENCRYPTION_KEY: 'short-key-Wz2',
    });
    expect(named(err).sort()).toEqual(['SLACK_STATE_SECRET', 'SLACK_TOKEN_ENCRYPTION_KEY']);
    expect(err.message).not.toMatch(/short-state-Qx1|short-key-Wz2/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['7d', 604_800],
    ['12h', 43_200],
    ['30m', 1_800],
    ['45s', 45],
    ['365d', 31_536_000],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '7', 'd', '-1d', '1w', '1.5h', '0s', '366d', '7 d', '7D'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('readEnvironment', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function envFile(text: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-env-'));
    dirs.push(dir);
    const file = path.join(dir, '.env');
    writeFileSync(file, text);
    return file;
  }

  it('reads variables from the .env file', () => {
    const file = envFile(
      ['# Slack', 'SLACK_BOT_TOKEN=xoxb-from-file', 'SLACK_SIGNING_SECRET="quoted secret"', 'PORT=4000', ''].join('\n'),
    );
    const env = readEnvironment({}, file);
    expect(env.SLACK_BOT_TOKEN).toBe('xoxb-from-file');
    expect(env.SLACK_SIGNING_SECRET).toBe('quoted secret');
    expect(env.PORT).toBe('4000');
    const config = loadConfig(env);
    expect(config.port).toBe(4000);
    expect(config.slack.botToken).toBe('xoxb-from-file');
  });

  it('lets a variable already in the environment win over the file', () => {
    const file = envFile('PORT=4000\nLOG_LEVEL=debug\n');
    const env = readEnvironment({ PORT: '5000' }, file);
    expect(env.PORT).toBe('5000');
    expect(env.LOG_LEVEL).toBe('debug');
  });

  it('is fine without a file, and returns a copy of the environment', () => {
    const given = { PORT: '5000' };
    const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-env-'));
    dirs.push(dir);
    const env = readEnvironment(given, path.join(dir, 'missing.env'));
    expect(env).toEqual({ PORT: '5000' });
    env.PORT = '1';
    expect(given.PORT).toBe('5000');
  });
});
