// One log line per request: an id, what it was (route, or Slack team, user and command) and
// how it ended. The record is carried by the request's own objects: the HTTP request and
// response (the pages), Bolt's context (Slack requests). Not AsyncLocalStorage: on Node 20 it
// runs a hook for every promise the process makes, and `help` served 0.49 of bare Bolt's
// requests a second with it against 0.63 without (interleaved lab rounds, 2026-12-02).
import { randomBytes } from 'node:crypto';

export interface RequestRecord {
  id: string;
  started: number;
  /** `performance.now()` when the request arrived: reads made after it are this request's. */
  arrived: number;
  /** A route template (never the path: registration paths hold tokens). */
  route?: string;
  slack?: { team?: string; user?: string; kind: string; name: string };
  outcome?: string;
}

// Ids unique across processes without a random draw per request: a random prefix for this
// process, then a counter.
const PROCESS_PREFIX = randomBytes(4).toString('hex');
let counter = 0;

export function newRequestRecord(fields: Partial<RequestRecord> = {}): RequestRecord {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return {
    id: `${PROCESS_PREFIX}-${counter.toString(36)}`,
    started: Date.now(),
    arrived: performance.now(),
    ...fields,
  };
}

/** The objects that carry a request's record: its HTTP request and response, its Bolt context. */
const records = new WeakMap<object, RequestRecord>();

export function carryRecord(record: RequestRecord, ...carriers: object[]): void {
  for (const carrier of carriers) records.set(carrier, record);
}

export function recordOf(carrier: object | undefined): RequestRecord | undefined {
  return carrier ? records.get(carrier) : undefined;
}

/**
 * Says how the request `carrier` belongs to ended (its response, or its Bolt context); the
 * first word wins: a refusal is not overwritten by "ok".
 */
export function setOutcome(carrier: object | undefined, outcome: string): void {
  const record = recordOf(carrier);
  if (record && record.outcome === undefined) record.outcome = outcome;
}
