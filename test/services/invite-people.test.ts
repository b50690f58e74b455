// The invite-people operation with Slack faked: a directory that says who people are and a
// notifier that records DMs. One outcome per person, whatever happens to the others.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import { invitePeople } from '../../src/services/operations/invite-people.js';
import { listInvites } from '../../src/services/operations/list-invites.js';
import type { Account } from '../../src/services/types.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import {
  actor,
  FakeDirectory,
  insertMembers,
  makeServices,
  newAccount,
  RecordingNotifier,
  snapshot,
  TestClock,
} from '../support/fixtures.js';

describe('invitePeople', () => {
  let db: TestDatabase;
  let directory: FakeDirectory;
  let notifier: RecordingNotifier;
  let services: Services;
  let account: Account;

  beforeAll(async () => {
    db = await openPgliteTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    directory = new FakeDirectory();
    notifier = new RecordingNotifier();
    services = makeServices(db.knex, new TestClock(), undefined, directory, { notifier });
    account = await newAccount(services);
    await insertMembers(db.knex, account, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin' },
      { slackUserId: 'UMEMBER', role: 'AccountUser' },
    ]);
  });

  it('DMs each person their own link and says who was not invited, and why', async () => {
    directory.users.set('UBOT', { bot: true });
    directory.users.set('UGONE', { deleted: true });
    directory.users.set('UOTHER', { teamId: 'TELSEWHERE' });
    directory.users.set('UGUEST', { guest: true });
    directory.users.set('UNOBODY', 'unknown');
    directory.users.set('USLOW', 'unavailable');
    const users = ['UNEW', 'UBOT', 'UGONE', 'UOTHER', 'UGUEST', 'UNOBODY', 'USLOW', 'UMEMBER'];

    const outcomes = await invitePeople(services, actor(account, 'UADMIN1'), { users });

    expect(outcomes.map((o) => [o.user, o.kind, 'why' in o ? o.why : 'guest' in o ? o.guest : null])).toEqual([
      ['UNEW', 'sent', false],
      ['UBOT', 'not_invitable', 'bot'],
      ['UGONE', 'not_invitable', 'deactivated'],
      ['UOTHER', 'not_invitable', 'external'],
      ['UGUEST', 'sent', true],
      ['UNOBODY', 'not_invitable', 'unknown'],
      ['USLOW', 'not_invitable', 'lookup_failed'],
      ['UMEMBER', 'already_member', null],
    ]);
    expect(notifier.told.map((t) => [t.to, t.notice.kind])).toEqual(
      expect.arrayContaining([
        ['UNEW', 'invitation'],
        ['UGUEST', 'invitation'],
      ]),
    );
    expect(notifier.told).toHaveLength(2);
  });

  it('gives the admin the link of someone their DM did not reach', async () => {
    notifier.failing.set('UNEW', 'cannot_dm_bot');
    const [outcome] = await invitePeople(services, actor(account, 'UADMIN1'), { users: ['UNEW'] });
    expect(outcome).toMatchObject({ user: 'UNEW', kind: 'dm_failed', error: 'cannot_dm_bot' });
    expect(outcome?.kind === 'dm_failed' && outcome.url).toMatch(/^https:\/\/bees\.example\.test\/register\//);
    const pending = await listInvites(services, actor(account, 'UADMIN1'));
    expect(pending.ok && pending.invites.map((i) => i.forSlackUserId)).toEqual(['UNEW']);
  });

  it('refuses someone who is not an AccountAdmin, for everyone named, and changes nothing', async () => {
    const before = await snapshot(db.knex, account.id);
    const outcomes = await invitePeople(services, actor(account, 'UMEMBER'), { users: ['UNEW', 'UOTHER2'] });
    expect(outcomes).toEqual([
      { user: 'UNEW', kind: 'refused', reason: 'not_admin' },
      { user: 'UOTHER2', kind: 'refused', reason: 'not_admin' },
    ]);
    expect(notifier.told).toEqual([]);
    expect(await snapshot(db.knex, account.id)).toEqual(before);
  });

  it('keeps the outcome of everyone else when storing one invite fails', async () => {
    const failures: string[] = [];
    // The database refuses UBROKEN's invite, as when a connection drops mid-batch.
    const broken: Services = {
      ...services,
      invites: Object.assign(Object.create(services.invites), {
        create: (who: Parameters<Services['invites']['create']>[0], input: { forSlackUserId?: string | null }) =>
          input.forSlackUserId === 'UBROKEN'
            ? Promise.reject(new Error('Connection terminated unexpectedly'))
            : services.invites.create(who, input as Parameters<Services['invites']['create']>[1]),
      }),
    };
    const outcomes = await invitePeople(broken, actor(account, 'UADMIN1'), {
      users: ['UFIRST1', 'UBROKEN', 'ULAST01'],
      onFailure: (user) => failures.push(user),
    });

    expect(outcomes.map((o) => [o.user, o.kind])).toEqual([
      ['UFIRST1', 'sent'],
      ['UBROKEN', 'failed'],
      ['ULAST01', 'sent'],
    ]);
    expect(failures).toEqual(['UBROKEN']);
    expect(notifier.to('UFIRST1')).toHaveLength(1);
    expect(notifier.to('ULAST01')).toHaveLength(1);
    expect(notifier.to('UBROKEN')).toHaveLength(0);
    const pending = await listInvites(services, actor(account, 'UADMIN1'));
    expect(pending.ok && pending.invites.map((i) => i.forSlackUserId).sort()).toEqual(['UFIRST1', 'ULAST01']);
  });
});
