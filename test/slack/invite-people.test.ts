// Inviting several people at once: one person's storage failure must not lose the links
// already made for the others.
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { Services } from '../../src/services/index.js';
import { invitePeople } from '../../src/slack/invite-people.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices } from '../support/fixtures.js';
import { BOT_TOKEN, SlackStandIn, TEAM_ID } from '../support/slack-stand-in.js';

describe('invitePeople', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;

  beforeAll(async () => {
    db = await openPgliteTestDatabase();
    standIn = await new SlackStandIn().start();
  });
  afterAll(async () => {
    await standIn?.stop();
    await db?.close();
  });

  it('keeps the outcome of everyone else when storing one invite fails', async () => {
    const real = makeServices(db.knex);
    const account = await real.accounts.ensureWorkspace({ teamId: TEAM_ID, name: 'Acme' });
    await insertMembers(db.knex, account, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin' }]);
    for (const id of ['UFIRST1', 'UBROKEN', 'ULAST01']) standIn.addUser({ id });
    // The database refuses UBROKEN's invite, as when a connection drops mid-batch.
    const services: Services = {
      ...real,
      invites: Object.assign(Object.create(real.invites), {
        create: (who: Parameters<Services['invites']['create']>[0], input: { forSlackUserId?: string | null }) =>
          input.forSlackUserId === 'UBROKEN'
            ? Promise.reject(new Error('Connection terminated unexpectedly'))
            : real.invites.create(who, input as Parameters<Services['invites']['create']>[1]),
      }),
    };
    const outcomes = await invitePeople(
      {
        client: new WebClient(BOT_TOKEN, { slackApiUrl: standIn.apiUrl }),
        services,
        logger: createLogger({ level: 'silent' }),
        account,
      },
      actor(account, 'UADMIN1'),
      ['UFIRST1', 'UBROKEN', 'ULAST01'],
    );

    expect(outcomes.map((o) => [o.user, o.kind])).toEqual([
      ['UFIRST1', 'sent'],
      ['UBROKEN', 'failed'],
      ['ULAST01', 'sent'],
    ]);
    expect(standIn.dmsTo('UFIRST1')).toHaveLength(1);
    expect(standIn.dmsTo('ULAST01')).toHaveLength(1);
    expect(standIn.dmsTo('UBROKEN')).toHaveLength(0);
    const pending = await real.invites.listPending(actor(account, 'UADMIN1'));
    expect(pending.ok && pending.invites.map((i) => i.forSlackUserId).sort()).toEqual(['UFIRST1', 'ULAST01']);
  });
});
