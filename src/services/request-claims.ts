import type { Knex } from 'knex';

/**
 * Exactly-once handling of requests Slack may deliver more than once (to any of several
 * processes): the first to insert the key acts, every later delivery finds it taken.
 */
export class RequestClaims {
  constructor(private readonly deps: { knex: Knex; now: () => Date }) {}

  /** True for the first claim of `key`, false for every later one. */
  async claim(key: string): Promise<boolean> {
    const rows = await this.deps
      .knex('slack_request_claims')
      .insert({ request_key: key, created_at: this.deps.now() })
      .onConflict('request_key')
      .ignore()
      .returning('request_key');
    return rows.length === 1;
  }

  /** Forgets claims older than Slack's redelivery window (minutes) by a wide margin. */
  async prune(olderThanSeconds = 86_400): Promise<number> {
    const cutoff = new Date(this.deps.now().getTime() - olderThanSeconds * 1000);
    const rows = await this.deps
      .knex('slack_request_claims')
      .where('created_at', '<', cutoff)
      .del()
      .returning('request_key');
    return rows.length;
  }
}
