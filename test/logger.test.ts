// Logs are JSON lines that never carry a secret: not in structured fields, not in messages,
// not in errors, at any level.
import { describe, expect, it } from 'vitest';
import type { LogLevel } from '../src/config.js';
import { createLogger, scrubText } from '../src/logger.js';
import { boltLogger } from '../src/slack/bolt-logger.js';

const REDACTED = '[redacted]';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.sig';
const LINK = `https://bees.example/register/${JWT}`;
const BOT_TOKEN = 'xoxb-123-456-abc';
const DB_URL = 'postgres://u:pw@h/db';
const SECRET = 'exact-signing-secret-Q7w2';

function capture(level: LogLevel = 'info', secrets: string[] = [SECRET]) {
  const lines: string[] = [];
  const logger = createLogger({ level, secrets, destination: { write: (s: string) => void lines.push(s) } });
  return {
    logger,
    lines,
    /** Everything written, as one text. */
    text: () => lines.join(''),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

function expectClean(text: string, values: string[]) {
  for (const value of values) expect(text).not.toContain(value);
}

describe('createLogger', () => {
  it('writes one JSON object per line, with level, message and service', () => {
    const log = capture();
    log.logger.info({ accountId: 7 }, 'hello');
    log.logger.warn('careful');
    expect(log.lines).toHaveLength(2);
    for (const line of log.lines) expect(line.endsWith('\n')).toBe(true);
    const [first, second] = log.records();
    expect(first).toMatchObject({ level: 30, msg: 'hello', accountId: 7, service: 'chatbees-users' });
    expect(typeof first?.time).toBe('number');
    expect(second).toMatchObject({ level: 40, msg: 'careful' });
  });

  it('leaves out levels below the one configured', () => {
    const log = capture('info');
    log.logger.debug('not shown');
    log.logger.info('shown');
    expect(log.records().map((r) => r.msg)).toEqual(['shown']);
  });

  it('redacts secret-bearing fields of a logged object', () => {
    const log = capture();
    log.logger.info({ token: 'abc', slack: { botToken: 'xoxb-1-2-3' }, url: 'https://x/register/eyJ...' }, 'object');
    const [record] = log.records();
    expect(record).toMatchObject({ token: REDACTED, slack: { botToken: REDACTED }, url: REDACTED, msg: 'object' });
    expectClean(log.text(), ['"abc"', 'xoxb-1-2-3', 'eyJ', '/register/']);
  });

  it('redacts secret-bearing fields one level down under any name, without changing what was logged', () => {
    const log = capture();
    const installation = { token: 'tok-123-plain', team: 'T1' };
    const frozen = Object.freeze({ password: 'pw-456-plain', user: 'u' });
    const err = Object.assign(new Error('failed'), { secret: 'sec-789-plain' });
    log.logger.warn({ installation, frozen, failure: err, list: [{ token: 'deeper-is-scrubbed-only' }] }, 'nested');
    const [record] = log.records();
    expect(record).toMatchObject({
      installation: { token: REDACTED, team: 'T1' },
      frozen: { password: REDACTED, user: 'u' },
      failure: { secret: REDACTED },
      msg: 'nested',
    });
    expectClean(log.text(), ['tok-123-plain', 'pw-456-plain', 'sec-789-plain']);
    // The caller's objects are untouched, and an Error stays one (its message is still logged).
    expect(installation.token).toBe('tok-123-plain');
    expect(frozen.password).toBe('pw-456-plain');
    expect(err.secret).toBe('sec-789-plain');
    expect(record?.failure).toBeDefined();
    log.logger.error({ err }, 'as err');
    expect(log.records()[1]?.err).toMatchObject({ message: 'failed', secret: REDACTED, type: 'Error' });
  });

  it('scrubs secret-looking text in fields with innocent names', () => {
    const log = capture();
    log.logger.info(
      { note: `sent ${LINK}`, list: [BOT_TOKEN, 'plain'], nested: { conn: DB_URL, other: `key ${SECRET}` } },
      'fields',
    );
    const [record] = log.records();
    expect(record?.list).toEqual([REDACTED, 'plain']);
    expect(record?.nested).toEqual({ conn: `postgres://u:${REDACTED}@h/db`, other: `key ${REDACTED}` });
    expectClean(log.text(), [JWT, BOT_TOKEN, ':pw@', SECRET]);
  });

  it.each([
    ['a registration link', `invite sent: ${LINK}`, JWT],
    ['a bot token', `calling Slack with ${BOT_TOKEN}`, BOT_TOKEN],
    ['a database password', `connecting to ${DB_URL}`, ':pw@'],
    ['a secret passed in', `signing with ${SECRET}`, SECRET],
  ])('replaces %s inside a message', (_what, message, leaked) => {
    const log = capture();
    log.logger.info(message);
    const [record] = log.records();
    expect(record?.msg).toContain(REDACTED);
    expectClean(log.text(), [leaked]);
  });

  it('scrubs secrets interpolated into a message as %s arguments', () => {
    const log = capture();
    log.logger.info({ step: 1 }, 'token %s for %s', BOT_TOKEN, SECRET);
    expect(log.records()[0]?.msg).toBe(`token ${REDACTED} for ${REDACTED}`);
  });

  it('scrubs an Error logged with a message of its own: its message and stack', () => {
    const log = capture();
    log.logger.error({ err: new Error(`Slack refused ${BOT_TOKEN} for ${LINK}`) }, 'sending failed');
    const [record] = log.records();
    const err = record?.err as { message: string; stack: string };
    expect(record?.msg).toBe('sending failed');
    expect(err.message).toBe(`Slack refused ${REDACTED} for https://bees.example/register/${REDACTED}`);
    expect(err.stack).toContain('Error: Slack refused');
    expectClean(log.text(), [BOT_TOKEN, JWT]);
  });

  it('scrubs an Error logged on its own, whose message becomes the log message', () => {
    const log = capture();
    log.logger.error(new Error(`Slack refused ${BOT_TOKEN}`));
    log.logger.error({ err: new Error(`could not reach ${DB_URL}`) });
    expect(log.lines).toHaveLength(2);
    expect(log.records().map((r) => (r.err as { message: string }).message)).toEqual([
      `Slack refused ${REDACTED}`,
      `could not reach postgres://u:${REDACTED}@h/db`,
    ]);
    expectClean(log.text(), [BOT_TOKEN, ':pw@']);
  });

  it('scrubs debug-level logs too', () => {
    const log = capture('debug');
    log.logger.debug({ databaseUrl: DB_URL, detail: `link ${LINK}` }, `slack call with ${BOT_TOKEN}`);
    const [record] = log.records();
    expect(record).toMatchObject({ level: 20, databaseUrl: REDACTED, msg: `slack call with ${REDACTED}` });
    expectClean(log.text(), [DB_URL, ':pw@', JWT, BOT_TOKEN]);
  });

  it('scrubs the bindings of a child logger', () => {
    const log = capture();
    log.logger.child({ responseTarget: `${LINK}`, auth: `Bearer ${BOT_TOKEN}` }).info('child');
    expect(log.lines).toHaveLength(1);
    expectClean(log.text(), [JWT, BOT_TOKEN]);
  });

  it('scrubs objects interpolated into a message with %j and %o', () => {
    const log = capture();
    // Innocent keys: key-based redaction does not apply, only the text patterns can catch these.
    log.logger.info('payload %j', { t: BOT_TOKEN });
    log.logger.info({ step: 2 }, 'payload %o', { target: LINK });
    expect(log.lines).toHaveLength(2);
    expectClean(log.text(), [BOT_TOKEN, JWT]);
  });

  it('scrubs secret-looking text however deep it is nested', () => {
    const log = capture();
    log.logger.info({ a: { b: { c: { d: { e: { f: { g: { h: BOT_TOKEN } } } } } } } }, 'deep');
    expect(log.lines).toHaveLength(1);
    expectClean(log.text(), [BOT_TOKEN]);
  });

  it('does not treat a very short "secret" as one (it would blank ordinary words)', () => {
    const log = capture('info', ['id', SECRET]);
    log.logger.info('account id 7');
    expect(log.records()[0]?.msg).toBe('account id 7');
  });

  it('scrubs a secret learnt after it was made (the link key read from the database)', () => {
    const secrets = [SECRET];
    const log = capture('info', secrets);
    const later = 'key-from-the-database-0123456789-abcdefghij';
    secrets.push(later);
    log.logger.info({ settingValue: later }, `loaded ${later}`);
    expect(log.lines).toHaveLength(1);
    expectClean(log.text(), [later]);
  });
  it("leaves out the HTTP exchange an error carries (Bolt's installer attaches the request)", () => {
    const log = capture();
    const err = Object.assign(new Error('deferred'), {
      req: { url: '/slack/oauth_redirect?code=4321.abcd', headers: { cookie: 'slack-app-oauth-state=s7ate' } },
      res: { statusCode: 500 },
    });
    log.logger.error({ err }, 'request failed');
    const [record] = log.records();
    expect(record?.err).toMatchObject({ message: 'deferred', req: REDACTED, res: REDACTED });
    expectClean(log.text(), ['4321.abcd', 's7ate']);
  });
});

describe('boltLogger', () => {
  it('writes an Error given to it as its name and message, scrubbed', () => {
    const log = capture('debug');
    boltLogger(log.logger).error('Failed:', new TypeError(`bad token ${BOT_TOKEN}`), { n: 1 });
    const [record] = log.records();
    expect(record).toMatchObject({ level: 50, component: 'slack' });
    expect(record?.msg).toBe(`Failed: TypeError: bad token ${REDACTED} {"n":1}`);
  });
});

describe('scrubText', () => {
  it('leaves ordinary text alone', () => {
    const text = 'Added U012AB3CD to Acme as AccountUser (invite inv_123), see https://bees.example/help';
    expect(scrubText(text)).toBe(text);
  });

  it('replaces Slack tokens of every kind', () => {
    expect(scrubText(`bot ${BOT_TOKEN}, user xoxp-1-2-3-abc, app xapp-1-A0-9-zz.`)).toBe(
      `bot ${REDACTED}, user ${REDACTED}, app ${REDACTED}.`,
    );
  });

  it('replaces a JWT', () => {
    expect(scrubText(`token=${JWT};`)).toBe(`token=${REDACTED};`);
  });

  it('replaces the token part of a registration link, keeping the path and what follows', () => {
    expect(scrubText(`open ${LINK} now`)).toBe(`open https://bees.example/register/${REDACTED} now`);
    expect(scrubText('GET /register/abc.def?lang=en')).toBe(`GET /register/${REDACTED}?lang=en`);
    expect(scrubText('"https://b.example/register/opaque-token"')).toBe(`"https://b.example/register/${REDACTED}"`);
  });

  it('replaces OAuth and OpenID values in JSON, also JSON written inside a message', () => {
    const body = JSON.stringify({ client_id: '1.2', client_secret: 'cs-value', code: 'code-value', redirect_uri: 'r' });
    expect(scrubText(body)).toBe(
      `{"client_id":"1.2","client_secret":"${REDACTED}","code":"${REDACTED}","redirect_uri":"r"}`,
    );
    const line = JSON.stringify({ msg: `http request body: ${body}` });
    expect(scrubText(line)).not.toMatch(/cs-value|code-value/);
    expect(() => JSON.parse(scrubText(line))).not.toThrow();
  });

  it('replaces the password of a database URL, keeping the rest', () => {
    expect(scrubText(`url ${DB_URL}`)).toBe(`url postgres://u:${REDACTED}@h/db`);
    expect(scrubText('postgresql://bees:s3cr%40t@db.example:5432/bees')).toBe(
      `postgresql://bees:${REDACTED}@db.example:5432/bees`,
    );
    expect(scrubText('postgres://db.example:5432/bees')).toBe('postgres://db.example:5432/bees');
    expect(scrubText('postgres://bees@db.example/bees')).toBe('postgres://bees@db.example/bees');
  });

  it('replaces every occurrence of each secret given, even with regex characters in it', () => {
    const odd = 'a+b*(c)?[d]$^.secret';
    expect(scrubText(`${SECRET} and ${odd} and ${SECRET}`, [SECRET, odd])).toBe(
      `${REDACTED} and ${REDACTED} and ${REDACTED}`,
    );
  });

  it('ignores empty secrets', () => {
    expect(scrubText('nothing to hide', [''])).toBe('nothing to hide');
  });
});
