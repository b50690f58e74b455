import type { Knex } from 'knex';
import { createServices, type Services } from '../../src/services/index.js';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import { sortNameOf } from '../../src/services/store.js';
import type { Account, Actor, AuditSource, Role } from '../../src/services/types.js';

export const LINK_SECRET = 'test-registration-link-secret-0123456789abcdef';
export const PUBLIC_URL = 'https://bees.example.test';
export const SEVEN_DAYS = 7 * 86_400;

/** A clock tests move by hand. */
export class TestClock {
  private t = Date.parse('2026-11-28T12:00:00Z');
  readonly now = (): Date => new Date(this.t);
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

export function makeLinks(clock: TestClock, secret = LINK_SECRET): RegistrationLinks {
  return new RegistrationLinks({ publicUrl: PUBLIC_URL, secret, now: clock.now });
}

export function makeServices(knex: Knex, clock = new TestClock(), ttlSeconds = SEVEN_DAYS): Services {
  return createServices({ knex, links: makeLinks(clock), inviteTtlSeconds: ttlSeconds, now: clock.now });
}

let teamCounter = 0;
/** A new workspace account with a unique team id. */
export async function newAccount(services: Services, name = 'Acme'): Promise<Account> {
  teamCounter += 1;
  return services.accounts.ensureWorkspace({ teamId: `T${process.pid}X${teamCounter}`, name });
}

export function actor(account: Account, slackUserId: string, source: AuditSource = 'slash_command'): Actor {
  return { accountId: account.id, slackUserId, source };
}

/** Inserts active members directly (for volume); rules are exercised through the services elsewhere. */
export async function insertMembers(
  knex: Knex,
  account: Account,
  people: Array<{ slackUserId: string; role?: Role; displayName?: string }>,
): Promise<void> {
  const rows = people.map((p) => ({
    account_id: account.id,
    slack_user_id: p.slackUserId,
    display_name: p.displayName ?? null,
    sort_name: sortNameOf(p.displayName, p.slackUserId),
    role: p.role ?? 'AccountUser',
    status: 'active',
  }));
  for (let i = 0; i < rows.length; i += 1000) await knex('members').insert(rows.slice(i, i + 1000));
}
