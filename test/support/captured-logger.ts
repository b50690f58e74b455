import { createLogger } from '../../src/logger.js';

/** A logger at info whose lines are kept, parsed, for a test to read. */
export function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { logger, lines };
}
