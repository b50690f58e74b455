// What the registration pages print about time: one wording, in UTC, whatever the host's zone.
import { describe, expect, it } from 'vitest';
import { formatDate } from '../../src/web/pages.js';

describe('formatDate', () => {
  it('names the weekday, the day, the month, the year and the time, in UTC', () => {
    expect(formatDate(new Date('2026-12-09T15:04:00Z'))).toBe('Wed, 9 Dec 2026, 15:04 UTC');
    // Late in the day in UTC: still that day, whatever zone the host is in.
    expect(formatDate(new Date('2026-12-31T23:30:00Z'))).toBe('Thu, 31 Dec 2026, 23:30 UTC');
    expect(formatDate(new Date('2027-01-01T00:05:00Z'))).toBe('Fri, 1 Jan 2027, 00:05 UTC');
  });
});
