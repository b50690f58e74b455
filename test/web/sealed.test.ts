// Signed cookie values (jose HS256): a value opens only for its purpose, before its expiry,
// untouched, and under the key that sealed it.
import { describe, expect, it } from 'vitest';
import { Sealer } from '../../src/web/sealed.js';
import { TestClock } from '../support/fixtures.js';

const KEY = 'sealer-test-key-0123456789abcdef0123456789';

describe('Sealer', () => {
  it('opens what it sealed, for the same purpose, until it expires', async () => {
    const clock = new TestClock();
    const sealer = new Sealer(KEY, clock.now);
    const sealed = await sealer.seal('identity', { user: 'UBOB', name: 'Bob' }, 600);
    expect(await sealer.open('identity', sealed)).toEqual({ user: 'UBOB', name: 'Bob' });
    expect(await sealer.open('sign-in', sealed)).toBeUndefined();
    clock.advance(601);
    expect(await sealer.open('identity', sealed)).toBeUndefined();
  });

  it('refuses a changed value, another key, an unsigned token, and junk', async () => {
    const sealer = new Sealer(KEY);
    const sealed = await sealer.seal('identity', { user: 'UBOB' }, 600);
    const [header, payload, signature] = sealed.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), v: { user: 'UADMIN' } }),
    ).toString('base64url');
    expect(await sealer.open('identity', `${header}.${forged}.${signature}`)).toBeUndefined();
    expect(await new Sealer(`${KEY}-other`).open('identity', sealed)).toBeUndefined();
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect(await sealer.open('identity', `${none}.${payload}.`)).toBeUndefined();
    for (const junk of [undefined, '', 'a.b', 'x'.repeat(5000)]) {
      expect(await sealer.open('identity', junk)).toBeUndefined();
    }
  });
});
