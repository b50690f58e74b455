// Who a request is counted as: the client address behind trusted proxies, never one the client
// wrote itself, and IPv6 clients by their /64.
import { describe, expect, it } from 'vitest';
import { clientAddress, limitKey } from '../../src/web/rate-limit.js';

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
