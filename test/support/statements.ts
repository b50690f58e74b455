// The statements a pool sent, from the test's side: what each was (its name, its text), when it
// was sent and when its answer came back (performance.now()). Wraps the pool's connections as
// they are lent, while recording; the bot or queue under test uses the same pool.
import type { Knex } from 'knex';

export interface SentStatement {
  name: string | undefined;
  text: string;
  sent: number;
  answered?: number;
}

type Connection = { query(query: unknown, values?: unknown): Promise<unknown> };

/** Where a connection's statements go now (a connection is wrapped once, for every recording). */
const sinks = new WeakMap<Connection, { to?: SentStatement[] }>();

export function recordStatements(knex: Knex): { statements: SentStatement[]; stop: () => void } {
  const client = knex.client as { acquireConnection(): Promise<Connection> };
  const acquire = client.acquireConnection;
  const statements: SentStatement[] = [];
  const lent = new Set<{ to?: SentStatement[] }>();
  client.acquireConnection = async () => {
    const connection = await acquire.call(client);
    let sink = sinks.get(connection);
    if (!sink) {
      const own: { to?: SentStatement[] } = {};
      sink = own;
      sinks.set(connection, own);
      const query = connection.query.bind(connection);
      connection.query = (asked, values) => {
        const answer = query(asked, values);
        if (own.to) {
          const config = typeof asked === 'string' ? { text: asked } : (asked as { name?: string; text?: string });
          const statement: SentStatement = { name: config.name, text: config.text ?? '', sent: performance.now() };
          own.to.push(statement);
          answer.then(
            () => (statement.answered = performance.now()),
            () => {},
          );
        }
        return answer;
      };
    }
    sink.to = statements;
    lent.add(sink);
    return connection;
  };
  return {
    statements,
    stop: () => {
      for (const sink of lent) if (sink.to === statements) sink.to = undefined;
      client.acquireConnection = acquire;
    },
  };
}
