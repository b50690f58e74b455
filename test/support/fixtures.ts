import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import {
  createServices,
  type Delivery,
  type Directory,
  type FileToTell,
  type Gathered,
  type GatherFailure,
  type Lookup,
  type Notice,
  type Notifier,
  type SentAt,
  type ServiceOptions,
  type Services,
  type SlackPerson,
  type Source,
} from '../../src/services/index.js';
import { RegistrationLinks } from '../../src/services/registration-links.js';
import { sortNameOf } from '../../src/services/rows.js';
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

/**
 * Slack as the service tests see it: everyone is a full member of the account's workspace, except
 * the people `users` describes otherwise (a guest, someone deactivated, someone Slack does not
 * know, or "unavailable": Slack gives no answer in time). Tests change `users` as they go.
 */
export class FakeDirectory implements Directory {
  readonly users = new Map<string, Partial<SlackPerson> | 'unknown' | 'unavailable'>();
  readonly asked: string[] = [];

  async lookup(account: Account, slackUserId: string): Promise<Lookup> {
    this.asked.push(slackUserId);
    const known = this.users.get(slackUserId);
    if (known === 'unknown' || known === 'unavailable') return { found: false, why: known };
    return {
      found: true,
      person: {
        slackUserId,
        teamId: account.slackTeamId,
        enterpriseId: account.slackEnterpriseId,
        deleted: false,
        bot: false,
        guest: false,
        displayName: null,
        email: null,
        ...known,
      },
    };
  }

  /** The members of each channel or user group (by id); a source missing here is not found. */
  readonly sources = new Map<string, string[] | GatherFailure>();

  async gather(account: Account, sources: readonly Source[]): Promise<Gathered> {
    const ids = new Set<string>();
    for (const source of sources) {
      const members = this.sources.get(source.id);
      if (members === undefined) return { ok: false, why: 'source_not_found', source };
      if (typeof members === 'string') return { ok: false, why: members, source };
      for (const id of members) ids.add(id);
    }
    const people: SlackPerson[] = [];
    let unknown = 0;
    for (const id of ids) {
      const found = await this.lookup(account, id);
      if (found.found) people.push(found.person);
      else unknown += 1;
    }
    return { ok: true, people, unknown };
  }
}

/** The services on `knex` and `clock`, links for anyone allowed; `more` changes other options. */
export function makeServices(
  knex: Knex,
  clock = new TestClock(),
  ttlSeconds = SEVEN_DAYS,
  directory: Directory = new FakeDirectory(),
  more: Partial<ServiceOptions> = {},
): Services {
  return createServices({
    knex,
    links: makeLinks(clock),
    inviteTtlSeconds: ttlSeconds,
    now: clock.now,
    directory,
    sharedLinks: true,
    ...more,
  });
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
  people: Array<{ slackUserId: string; role?: Role; displayName?: string; email?: string }>,
): Promise<void> {
  const rows = people.map((p) => ({
    account_id: account.id,
    slack_user_id: p.slackUserId,
    display_name: p.displayName ?? null,
    email: p.email ?? null,
    sort_name: sortNameOf(p.displayName, p.slackUserId),
    role: p.role ?? 'AccountUser',
    status: 'active',
  }));
  for (let i = 0; i < rows.length; i += 1000) await knex('members').insert(rows.slice(i, i + 1000));
}

/** Everything stored about an account, to show a refused operation changed nothing. */
export async function snapshot(knex: Knex, accountId: number) {
  const [members, invites, audit] = await Promise.all([
    knex('members').where({ account_id: accountId }).orderBy('id'),
    knex('invites').where({ account_id: accountId }).orderBy('id'),
    knex('audit_log').where({ account_id: accountId }).orderBy('id'),
  ]);
  return { members, invites, audit };
}

/** Slack's DMs as the operation tests see them: every notice recorded, delivered unless told to fail. */
export class RecordingNotifier implements Notifier {
  readonly told: Array<{ to: string; notice: Notice }> = [];
  /** People (or channels) whose messages fail, with the error Slack would give. */
  readonly failing = new Map<string, string>();

  async tell(_account: Account, slackUserId: string, notice: Notice): Promise<Delivery> {
    const error = this.failing.get(slackUserId);
    if (error) return { ok: false, error };
    this.told.push({ to: slackUserId, notice });
    return { ok: true, at: { channel: `D${slackUserId.slice(1)}`, ts: `${this.told.length}.000` } };
  }

  /** Invitations of bulk invitations (tellOneOfMany), as `told` records the others. */
  readonly toldOneOfMany: Array<{ to: string; notice: Notice }> = [];

  async tellOneOfMany(_account: Account, slackUserId: string, notice: Notice): Promise<Delivery> {
    const error = this.failing.get(slackUserId);
    if (error) return { ok: false, error };
    this.toldOneOfMany.push({ to: slackUserId, notice });
    return { ok: true, at: { channel: `D${slackUserId.slice(1)}`, ts: `${this.toldOneOfMany.length}.000` } };
  }

  /** Files shared (tellFile). */
  readonly files: Array<{ to: string; filename: string; title: string; comment: string; content: string }> = [];

  /** What tellFile answers; delivered unless said. */
  fileDelivery: Delivery = { ok: true };

  async tellFile(_account: Account, slackUserId: string, file: FileToTell): Promise<Delivery> {
    // A file on disk is read now: the operation removes it once told.
    const content = 'content' in file ? file.content : readFileSync(file.file.path, 'utf8');
    if (this.fileDelivery.ok) {
      this.files.push({ to: slackUserId, filename: file.filename, title: file.title, comment: file.comment, content });
    }
    return this.fileDelivery;
  }

  /** What findInvitation answers, by person; 'absent' unless said. */
  readonly inDm = new Map<string, 'found' | 'absent' | 'unknown'>();

  async findInvitation(_account: Account, slackUserId: string): Promise<'found' | 'absent' | 'unknown'> {
    return this.inDm.get(slackUserId) ?? 'absent';
  }

  /** Messages posted in channels; a channel in `failing` refuses them with its error. */
  readonly posted: Array<{ channel: string; notice: Notice }> = [];

  async post(_account: Account, channel: string, notice: Notice): Promise<Delivery> {
    const error = this.failing.get(channel);
    if (error) return { ok: false, error };
    this.posted.push({ channel, notice });
    return { ok: true, at: { channel, ts: `${this.posted.length}.000` } };
  }

  readonly updated: Array<{ at: SentAt; notice: Notice }> = [];

  async update(_account: Account, at: SentAt, notice: Notice): Promise<Delivery> {
    this.updated.push({ at, notice });
    return { ok: true, at };
  }

  to(slackUserId: string): Notice[] {
    return this.told.filter((t) => t.to === slackUserId).map((t) => t.notice);
  }
}
