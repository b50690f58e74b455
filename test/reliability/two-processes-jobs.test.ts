// The job queue with two real bot processes on one PostgreSQL: each reminder is sent once and
// each expired invitation's messages are changed once, whichever process runs the job.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { openPostgresTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { SIGNING_SECRET, SlackDriver } from '../support/slack-requests.js';
import { BOT_TOKEN, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

const INVITEES = ['UAMY001', 'UBEN001', 'UCLEO01', 'UDAN001', 'UEVE001'];

describe.runIf(postgresUrl)('jobs with two processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let bots: BotProcess[] = [];
  let folders: string[] = [];

  beforeAll(async () => {
    db = await openPostgresTestDatabase();
    standIn = await new SlackStandIn().start();
    for (const id of ['UADMINA', ...INVITEES]) standIn.addUser({ id });
    folders = [0, 1].map(() => mkdtempSync(path.join(tmpdir(), 'chatbees-users-jobs-')));
    const env = {
      NODE_ENV: 'development',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: standIn.apiUrl,
      DATABASE_URL: db.url as string,
      PUBLIC_URL: 'https://bees.example.test',
      INITIAL_ADMINS: 'UADMINA',
      REGISTRATION_LINK_TTL: '8s',
      INVITE_REMINDER_BEFORE: '4s',
    };
    bots = await Promise.all(folders.map((folder) => spawnBot({ ...env, PGLITE_DATA_DIR: path.join(folder, 'pg') })));
  });
  afterAll(async () => {
    await Promise.all(bots.map((bot) => bot.stop()));
    await standIn?.stop();
    await db?.close();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it('sends each reminder once and changes each expired DM once', async () => {
    const slack = new SlackDriver((bots[0] as BotProcess).url, () => standIn.responseUrl());
    await slack.command('UADMINA', `invite ${INVITEES.map((id) => `<@${id}>`).join(' ')}`);
    await waitFor(() => INVITEES.every((id) => standIn.dmsTo(id).length === 1), 10_000, 'the invitations');
    // Reminders at 4 s, expiries at 8 s; then a few polls more for any second run.
    // Each invitation has two messages by then, the invitation and its reminder: both say it expired.
    await waitFor(() => standIn.callsTo('chat.update').length >= 2 * INVITEES.length, 20_000, 'every expiry shown');
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    for (const id of INVITEES) {
      const dms = standIn.dmsTo(id);
      expect(dms, id).toHaveLength(2);
      expect(String(dms[1]?.params.text), id).toMatch(/^Reminder: /);
    }
    const updates = standIn.callsTo('chat.update');
    expect(updates).toHaveLength(2 * INVITEES.length);
    expect(new Set(updates.map((u) => `${u.params.channel} ${u.params.ts}`)).size).toBe(2 * INVITEES.length);
  });
});
