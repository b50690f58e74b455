// Who a request is counted as: the client address behind trusted proxies, never one the client
// wrote itself, and IPv6 clients by their /64; and what a limiter asks of the shared counts.
import { describe, expect, it } from 'vitest';
import type { Counted } from '../../src/services/rate-counts.js';
import { clientAddress, limitKey, sharedLimiter } from '../../src/web/rate-limit.js';
import { capture } from '../support/captured-logger.js';

describe('sharedLimiter', () => {
  /** Counts as the database would, on a clock the test moves; `asked` records each count asked for. */
  const setUp = () => {
    let t = Date.parse('2026-12-02T10:00:00Z');
    const rows = new Map<string, Counted>();
    const asked: string[] = [];
    let failing = false;
    const counts = {
      async count(key: string, windowMs: number): Promise<Counted> {
        asked.push(key);
        if (failing) throw new Error('connection refused');
        const row = rows.get(key);
        const next =
          row && row.resetsAt > t ? { ...row, points: row.points + 1 } : { points: 1, resetsAt: t + windowMs };
        rows.set(key, next);
        return next;
      },
    };
    const { logger, lines } = capture();
    const limiter = sharedLimiter(counts, logger, {
      name: 'page:address',
      points: 2,
      durationSeconds: 60,
      now: () => new Date(t),
    });
    return {
      limiter,
      asked,
      lines,
      advance: (seconds: number) => {
        t += seconds * 1000;
      },
      fail: () => {
        failing = true;
      },
    };
  };

  it('refuses a key past its limit from memory until its window ends, then counts it again', async () => {
    const { limiter, asked, advance } = setUp();
    const verdicts = [];
    for (let i = 0; i < 3; i++) verdicts.push(await limiter?.take('10.0.0.1'));
    expect(verdicts).toEqual([{ ok: true }, { ok: true }, { ok: false, retryAfterSeconds: 60 }]);
    advance(45);
    expect(await limiter?.take('10.0.0.1')).toEqual({ ok: false, retryAfterSeconds: 15 });
    expect(await limiter?.take('10.0.0.2')).toEqual({ ok: true });
    // The refusal after the third came from memory: the database was asked three times for it.
    expect(asked.filter((k) => k === 'page:address:10.0.0.1')).toHaveLength(3);
    advance(15);
    expect(await limiter?.take('10.0.0.1')).toEqual({ ok: true });
    expect(asked.filter((k) => k === 'page:address:10.0.0.1')).toHaveLength(4);
  });

  it('counts in memory for a while when the database does not count, and says so once', async () => {
    const { limiter, asked, lines, fail } = setUp();
    fail();
    const verdicts = [];
    for (let i = 0; i < 3; i++) verdicts.push((await limiter?.take('10.0.0.1'))?.ok);
    expect(verdicts).toEqual([true, true, false]);
    expect(asked).toHaveLength(1);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'page rate limits: the database did not count; counting in this process for now',
    ]);
  });

  it('is no limiter at 0 a minute', () => {
    expect(
      sharedLimiter({ count: async () => ({ points: 1, resetsAt: 0 }) }, capture().logger, {
        name: 'x',
        points: 0,
        durationSeconds: 60,
      }),
    ).toBeUndefined();
  });
});

describe('clientAddress', () => {
  const xff = (value: string) => ({ 'x-forwarded-for': value });

  it('is the socket address with no trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress(xff('203.0.113.9'), '10.0.0.1', 0)).toBe('10.0.0.1');
  });

  it('is the address the outermost trusted proxy saw', () => {
    expect(clientAddress(xff('198.51.100.1, 203.0.113.9'), '10.0.0.1', 1)).toBe('203.0.113.9');
    expect(clientAddress(xff('198.51.100.1, 203.0.113.9, 10.0.0.2'), '10.0.0.1', 2)).toBe('203.0.113.9');
    expect(clientAddress({ 'x-forwarded-for': ['198.51.100.1', '203.0.113.9'] }, '10.0.0.1', 1)).toBe('203.0.113.9');
  });

  it('is the socket address when the chain is shorter than the trusted hops (not an entry the client wrote)', () => {
    // Two proxies are trusted, but the request passed one (or none): the leftmost entry is the client's own.
    expect(clientAddress(xff('6.6.6.6'), '10.0.0.1', 2)).toBe('10.0.0.1');
    expect(clientAddress({}, '10.0.0.1', 1)).toBe('10.0.0.1');
    expect(clientAddress(xff(' , '), '10.0.0.1', 1)).toBe('10.0.0.1');
  });

  it('reads an address with a port or in brackets, and takes the socket for an entry that is no address', () => {
    expect(clientAddress(xff('203.0.113.9:5555'), '10.0.0.1', 1)).toBe('203.0.113.9');
    expect(clientAddress(xff('[2001:db8::1]:443'), '10.0.0.1', 1)).toBe('2001:db8::1');
    for (const junk of ['unknown', 'evil.example', '999.1.1.1', '<script>']) {
      expect(clientAddress(xff(junk), '10.0.0.1', 1), junk).toBe('10.0.0.1');
    }
  });
});

describe('limitKey', () => {
  it('keeps IPv4 addresses, and unwraps IPv4 from IPv6 however it is spelled', () => {
    expect(limitKey('203.0.113.9')).toBe('203.0.113.9');
    for (const wrapped of ['::ffff:203.0.113.9', '::ffff:cb00:7109', '0:0:0:0:0:ffff:203.0.113.9', '::203.0.113.9']) {
      expect(limitKey(wrapped), wrapped).toBe('203.0.113.9');
    }
    expect(limitKey('::ffff:7f00:1')).toBe('127.0.0.1');
  });

  it('counts an IPv6 client by its /64, however it is written', () => {
    const one = limitKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    expect(one).toBe('2001:db8:1:2::/64');
    expect(limitKey('2001:0db8:0001:0002::1')).toBe(one);
    expect(limitKey('2001:db8:1:2::ffff')).toBe(one);
    expect(limitKey('2001:db8:1:3::1')).not.toBe(one);
    expect(limitKey('::1')).toBe('0:0:0:0::/64');
    expect(limitKey('fe80::1')).toBe('fe80:0:0:0::/64');
    expect(limitKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(limitKey('64:ff9b::203.0.113.9')).toBe('64:ff9b:0:0::/64');
  });
});
