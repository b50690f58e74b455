// One log line per request: an id, what it was (route, or Slack team, user and command) and
// how it ended. The record lives in AsyncLocalStorage, so every log line written while the
// request is handled carries its id too (see the logger's mixin).
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

export interface RequestRecord {
  id: string;
  started: number;
  /** A route template (never the path: registration paths hold tokens). */
  route?: string;
  slack?: { team?: string; user?: string; kind: string; name: string };
  outcome?: string;
  /**
   * Who asks, read by the multi-workspace mode's installation lookup in the same round trip as
   * the installation (`key`: what it was read for); the permission check of the same request
   * takes it instead of reading again.
   */
  actorRead?: { key: string; actor: unknown };
}

const storage = new AsyncLocalStorage<RequestRecord>();

// Ids unique across processes without a random draw per request: a random prefix for this
// process, then a counter.
const PROCESS_PREFIX = randomBytes(4).toString('hex');
let counter = 0;

export function newRequestRecord(fields: Partial<RequestRecord> = {}): RequestRecord {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return { id: `${PROCESS_PREFIX}-${counter.toString(36)}`, started: Date.now(), ...fields };
}

export function runWithRequest<T>(record: RequestRecord, work: () => T): T {
  return storage.run(record, work);
}

export function currentRequest(): RequestRecord | undefined {
  return storage.getStore();
}

/** Says how the current request ended (first word wins: a refusal is not overwritten by "ok"). */
export function setOutcome(outcome: string): void {
  const record = storage.getStore();
  if (record && record.outcome === undefined) record.outcome = outcome;
}
