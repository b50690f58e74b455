import { describe, expect, it } from 'vitest';
import { BOM, csv, csvCell } from '../src/csv.js';

describe('csv', () => {
  it('quotes what must be quoted, doubles quotes, and neutralises formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    for (const start of ['+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(csvCell(start).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell('Zoë Łukasz 日本')).toBe('Zoë Łukasz 日本');
    expect(csvCell(null)).toBe('');
    expect(csvCell(42)).toBe('42');
  });

  it('starts with a byte-order mark and ends each row with CRLF', () => {
    expect(csv(['a', 'b'], [['1', null]])).toBe(`${BOM}a,b\r\n1,\r\n`);
  });
});
