// The pace of a bulk invitation's DMs, on a fake clock: it learns Slack's limit from the 429s.
import { describe, expect, it } from 'vitest';
import { Pacer } from '../../src/services/pacer.js';

/** A pacer on a clock that only moves when it sleeps (or the test moves it). */
function onFakeClock(options: ConstructorParameters<typeof Pacer>[0] = {}) {
  const clock = { now: 1_000_000 };
  const pacer = new Pacer({
    ...options,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
  });
  return { pacer, clock };
}

/** Sends for `seconds` against a limit of `limit` calls per fixed 1 s window; returns calls that got through. */
async function against(pacer: Pacer, clock: { now: number }, limit: number, seconds: number) {
  const end = clock.now + seconds * 1000;
  let windowStart = clock.now;
  let inWindow = 0;
  let through = 0;
  while (clock.now < end) {
    await pacer.take();
    if (clock.now - windowStart >= 1000) {
      windowStart += Math.floor((clock.now - windowStart) / 1000) * 1000;
      inWindow = 0;
    }
    if (inWindow < limit) {
      inWindow += 1;
      through += 1;
      pacer.ok();
    } else {
      pacer.tooMany(Math.max(1, Math.ceil((windowStart + 1000 - clock.now) / 1000)));
    }
  }
  return through;
}

describe('Pacer', () => {
  it('spaces calls at its rate, and doubles the rate each second until the first 429', async () => {
    const { pacer, clock } = onFakeClock({ start: 10 });
    const t0 = clock.now;
    for (let i = 0; i < 10; i++) {
      await pacer.take();
      pacer.ok();
    }
    expect(clock.now - t0).toBe(900);
    await pacer.take();
    pacer.ok();
    expect(pacer.rate).toBe(20);
  });

  it('after a 429 waits Retry-After and sets its rate under what got through in the last second', async () => {
    const { pacer, clock } = onFakeClock({ start: 100 });
    for (let i = 0; i < 40; i++) {
      await pacer.take();
      pacer.ok();
    }
    const at = clock.now;
    pacer.tooMany(1);
    // 40 got through in the last second (at 100 a second, 400 ms): 85 % of that.
    expect(pacer.rate).toBeCloseTo(34, 5);
    expect(pacer.limited).toBe(1);
    // More 429s of the same pause (calls that were in flight) change nothing more.
    for (let i = 0; i < 8; i++) {
      clock.now += 5;
      pacer.tooMany(1);
    }
    expect(pacer.rate).toBeCloseTo(34, 5);
    await pacer.take();
    expect(clock.now).toBeGreaterThanOrEqual(at + 1000);
  });

  it('against a limit it has to find, gets at least 85 % of what the limit allows over a minute, meeting it seldom', async () => {
    for (const limit of [7, 50, 300]) {
      const { pacer, clock } = onFakeClock();
      const through = await against(pacer, clock, limit, 60);
      expect(through / (limit * 60), `limit ${limit}`).toBeGreaterThan(0.85);
      expect(pacer.limited, `limit ${limit}`).toBeLessThan(8);
      // It settled just under the limit.
      expect(pacer.rate / limit, `limit ${limit}`).toBeGreaterThan(0.9);
      expect(pacer.rate / limit, `limit ${limit}`).toBeLessThan(1.05);
    }
  });
});
