// CSV a spreadsheet opens as meant: RFC 4180 (fields quoted when they hold a comma, quote or line
// break; quotes doubled; CRLF between rows), UTF-8 with a byte-order mark so Excel reads names
// right, and cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or
// carriage return) neutralised with a leading apostrophe.

export const BOM = '\uFEFF';

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: neutralised, then quoted when it must be. */
export function csvCell(value: string | number | null | undefined): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row, with its CRLF. */
export function csvRow(values: ReadonlyArray<string | number | null | undefined>): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** A whole small document: the byte-order mark, the header, the rows. */
export function csv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return BOM + csvRow(header) + rows.map(csvRow).join('');
}
