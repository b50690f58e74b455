// Errors that mean "the database is not answering right now" (as opposed to a bug): the
// request gets "temporarily unavailable" and the process carries on until it is back.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08006',
  '57014', // query_canceled (statement_timeout)
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.name === 'KnexTimeoutError' || e.name === 'DeadlineExceeded') return true;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  // "timeout expired": node-postgres giving up on connecting (connectionTimeoutMillis).
  return /Connection terminated|connection timeout|timeout expired|Query read timeout|Client has encountered a connection error/i.test(
    e.message ?? '',
  );
}
