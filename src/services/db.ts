// Database access the services share: the connection type, named prepared statements on the
// hot path (unnamed behind a pooler), and transactions retried when PostgreSQL asks.
import type { Knex } from 'knex';
import type { Row } from './rows.js';

export type Db = Knex | Knex.Transaction;

interface PgConnection {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }>;
}

/**
 * A hot read, run as a named prepared statement on a pooled connection: parsed and planned
 * once per connection, and none of knex's query building on the way. Measured here: about a
 * third of the CPU of a built query and twice the throughput. `text` uses $1, $2, …
 * Behind a pooler in transaction mode (DATABASE_POOLER=transaction) the connection runs it
 * unnamed, parsed and planned each time (src/db/database.ts): still without knex's building.
 */
export async function prepared(knex: Knex, name: string, text: string, values: unknown[]): Promise<Row[]> {
  return onConnection(knex, { name, text, values });
}

/**
 * A read planned afresh for its values (an unnamed statement), for a query whose best plan
 * depends on them: a search's pattern (a rare name is found by the trigram index, a common one
 * by walking the name order). `text` uses $1, $2, …
 */
export async function planned(knex: Knex, text: string, values: unknown[]): Promise<Row[]> {
  return onConnection(knex, { text, values });
}

async function onConnection(knex: Knex, config: { name?: string; text: string; values: unknown[] }): Promise<Row[]> {
  const client = knex.client as {
    acquireConnection(): Promise<PgConnection>;
    releaseConnection(c: PgConnection): Promise<void>;
  };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query(config)).rows;
  } finally {
    await client.releaseConnection(connection);
  }
}

/** At most this many keys in one coalesced read; more start the next one. */
const MAX_COALESCED = 200;

/**
 * One read for the keys asked for in the same turn of the event loop: `readMany` gets them in
 * order and returns one value per key, in that order. Nothing is kept between turns: each caller
 * gets a read sent after it asked, as it would alone, in one round trip shared with the requests
 * that arrived with it (under load, a round trip per request was about a sixth of a `help`'s
 * CPU: one write to the database's socket each).
 */
export function coalesced<K, V>(readMany: (keys: K[]) => Promise<V[]>): (key: K) => Promise<V> {
  type Waiting = { key: K; resolve: (value: V) => void; reject: (err: unknown) => void };
  let waiting: Waiting[] | undefined;
  const send = async (batch: Waiting[]) => {
    try {
      const values = await readMany(batch.map((w) => w.key));
      if (values.length !== batch.length)
        throw new Error(`coalesced read: ${values.length} values for ${batch.length} keys`);
      for (const [i, w] of batch.entries()) w.resolve(values[i] as V);
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  };
  const flush = () => {
    // Sent already when it filled up (and a new one has its own flush coming).
    if (!waiting) return;
    const batch = waiting;
    waiting = undefined;
    void send(batch);
  };
  return (key) =>
    new Promise<V>((resolve, reject) => {
      if (!waiting) {
        waiting = [];
        setImmediate(flush);
      }
      waiting.push({ key, resolve, reject });
      if (waiting.length >= MAX_COALESCED) {
        const full = waiting;
        waiting = undefined;
        void send(full);
      }
    });
}

/**
 * A prepared statement that answers every key asked for in one turn of the event loop
 * (`coalesced`): `parameters` turns the keys into the statement's array parameters, which it
 * reads as `unnest(…) WITH ORDINALITY AS asked(…, n)`, returning at most one row per key with
 * its `n` (from 1). Each caller gets its key's row, or undefined.
 */
export function coalescedRows<K>(
  knex: Knex,
  name: string,
  sql: string,
  parameters: (keys: K[]) => unknown[],
): (key: K) => Promise<Row | undefined> {
  return coalesced(async (keys: K[]) => {
    const rows = await prepared(knex, name, sql, parameters(keys));
    const byN = new Map(rows.map((row) => [Number(row.n), row]));
    return keys.map((_, i) => byN.get(i + 1));
  });
}

/**
 * A prepared statement that returns one row for its values (`sql` with $1, $2, … of `types`),
 * run for all its callers of one turn of the event loop as one statement: their values as
 * arrays, each caller's set a row of `unnest(…) WITH ORDINALITY`, `sql` run for each through a
 * LATERAL join (so `sql` must return no column named `n`, the caller's place). Each caller gets
 * its own row, or undefined. On this host a round trip to the
 * database cost the bot a `writev` of about 170 µs (the system call wakes the database's
 * process), so the answers to a page of requests arriving together share one.
 */
function coalescedStatement(
  knex: Knex,
  name: string,
  sql: string,
  types: readonly string[],
): (values: unknown[]) => Promise<Row | undefined> {
  const arrays = types.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
  const columns = types.map((_, i) => `p${i + 1}`).join(', ');
  const each = sql.replace(/\$(\d+)/g, (_, i: string) => `asked.p${i}`);
  const batched = `SELECT asked.n, x.* FROM unnest(${arrays}) WITH ORDINALITY AS asked(${columns}, n)
    CROSS JOIN LATERAL (${each}) x`;
  return coalescedRows(knex, name, batched, (sets: unknown[][]) => types.map((_, i) => sets.map((set) => set[i])));
}

/** One `coalescedStatement` per statement name and database, made on first use. */
const statements = new WeakMap<Knex, Map<string, (values: unknown[]) => Promise<Row | undefined>>>();

/** The SQL type of a statement's value: whole numbers as bigint (ids are), dates with their zone. */
function sqlType(value: unknown): string {
  if (value instanceof Date) return 'timestamptz';
  if (Number.isInteger(value)) return 'bigint';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'boolean';
  throw new Error(`together: no SQL type for a ${typeof value} value`);
}

/**
 * Runs `sql` (one row; $1, $2, …) as a `coalescedStatement` named `name`, with the other callers
 * of this turn. The parameters' types come from the first call's values: a name is one statement
 * whose values are always of the same kinds (no nulls).
 */
export function together(knex: Knex, name: string, sql: string, values: unknown[]): Promise<Row | undefined> {
  let named = statements.get(knex);
  if (!named) {
    named = new Map();
    statements.set(knex, named);
  }
  let run = named.get(name);
  if (!run) {
    run = coalescedStatement(knex, name, sql, values.map(sqlType));
    named.set(name, run);
  }
  return run(values);
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock

/** Runs `work` in one transaction, retrying it whole when PostgreSQL asks us to. */
export async function inTransaction<T>(knex: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await knex.transaction(work);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !RETRYABLE.has(code) || attempt >= 5) throw err;
    }
  }
}
