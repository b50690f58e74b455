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
