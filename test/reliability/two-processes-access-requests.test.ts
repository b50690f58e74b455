// Access requests across two real bot processes on one PostgreSQL database: two admins pressing
// Approve on their copies of the same request at the same instant, one press through each process,
// make one decision. The person becomes a member once, is told once, one audit entry is kept, the
// admin who lost is told who won, and both copies say so.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUTTONS } from '../../src/slack/operations.js';
import { type BotProcess, spawnBot } from '../support/bot-process.js';
import { openPostgresTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { SIGNING_SECRET, SlackDriver } from '../support/slack-requests.js';
import { BOT_TOKEN, type Call, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

const ROUNDS = 10;
const ADMINS = ['UADMINA', 'UADMINB'] as const;
const ASKERS = Array.from({ length: ROUNDS }, (_, i) => `UASK${String(i + 1).padStart(2, '0')}`);
/** How long a late duplicate (a second DM, a second answer) is given to show up. */
const SETTLE_MS = 400;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(postgresUrl)('access requests on two processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let one: BotProcess;
  let two: BotProcess;
  let slackOne: SlackDriver;
  let slackTwo: SlackDriver;
  let folders: string[];

  beforeAll(async () => {
    db = await openPostgresTestDatabase();
    standIn = await new SlackStandIn().start();
    for (const id of [...ADMINS, ...ASKERS]) standIn.addUser({ id });
    // Each in a folder of its own, as on two machines, sharing only the database.
    folders = [0, 1].map(() => mkdtempSync(path.join(tmpdir(), 'chatbees-users-two-requests-')));
    const env = {
      NODE_ENV: 'development',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: standIn.apiUrl,
      DATABASE_URL: db.url as string,
      PUBLIC_URL: 'https://bees.example.test',
      INITIAL_ADMINS: ADMINS.join(','),
    };
    const inFolder = (folder: string) => spawnBot({ ...env, PGLITE_DATA_DIR: path.join(folder, 'pglite') });
    [one, two] = await Promise.all([inFolder(folders[0] as string), inFolder(folders[1] as string)]);
    slackOne = new SlackDriver(one.url, () => standIn.responseUrl());
    slackTwo = new SlackDriver(two.url, () => standIn.responseUrl());
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await standIn?.stop();
    await db?.close();
    for (const folder of folders ?? []) rmSync(folder, { recursive: true, force: true });
  });

  async function followUp(driver: SlackDriver, user: string, text: string): Promise<string> {
    const body = driver.commandBody(user, text);
    const ack = await driver.post(body.toString());
    if (typeof ack.json?.text === 'string' && ack.json.text.length > 0) return ack.json.text;
    const id = (body.get('response_url') as string).split('/').pop();
    const post = await waitFor(() => standIn.responseUrlPosts.find((p) => p.id === id), 10_000, `answer to ${text}`);
    return String(post.body.text);
  }

  /** The copy of `asker`'s request each admin got (none of another round's). */
  const copyFor = (admin: string, asker: string) =>
    standIn.dmsTo(admin).filter((c) => String(c.params.text).includes(`<@${asker}> asks for access`));

  /** The Approve button's value on a copy: the request id. */
  function approveValue(copy: Call): string | undefined {
    const raw = copy.params.blocks;
    const blocks = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{
      elements?: Array<{ action_id?: string; value?: string }>;
    }>;
    return blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === BUTTONS.approveRequest)?.value;
  }

  /** `admin` presses Approve on `copy` through `driver`; Slack gives the press `responseUrl`. */
  function approve(driver: SlackDriver, admin: string, requestId: string, copy: Call, responseUrl: string) {
    return driver.blockAction(
      admin,
      { action_id: BUTTONS.approveRequest, value: requestId },
      {},
      {
        container: {
          type: 'message',
          channel_id: String(copy.params.channel),
          message_ts: String(copy.response?.ts ?? '1.1'),
        },
        response_url: responseUrl,
      },
    );
  }

  /** This round's copies changed in place: chat.update naming the asker. */
  const updatesFor = (asker: string) =>
    standIn.callsTo('chat.update').filter((c) => String(c.params.text).includes(`<@${asker}>'s access request`));
  const answersTo = (responseUrl: string) => {
    const id = responseUrl.split('/').pop();
    return standIn.responseUrlPosts.filter((p) => p.id === id);
  };
  const membersRows = (asker: string) => db.knex('members').where({ slack_user_id: asker });
  const registeredEntries = (asker: string) =>
    db.knex('audit_log').where({ action: 'member.registered', target_slack_user_id: asker });

  it(`two admins approving one request at once through both processes, ${ROUNDS} rounds: one decision each time`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const asker = ASKERS[round] as string;
      // The asker goes through either process, in turn.
      const answer = await followUp(round % 2 === 0 ? slackOne : slackTwo, asker, `request round ${round + 1}`);
      expect(answer).toContain('2 AccountAdmins have your request');
      const [copyA, copyB] = await waitFor(
        () => {
          const both = ADMINS.map((admin) => copyFor(admin, asker)[0]);
          return both.every(Boolean) ? (both as Call[]) : undefined;
        },
        10_000,
        `a copy of ${asker}'s request for each admin`,
      );
      const request = await db.knex('access_requests').where({ slack_user_id: asker }).first();
      expect(request).toMatchObject({ status: 'open', decided_by: null });
      const requestId = String(request.id);
      expect([approveValue(copyA as Call), approveValue(copyB as Call)]).toEqual([requestId, requestId]);
      expect(await membersRows(asker)).toHaveLength(0);

      // Both presses at the same moment: A's through process one, B's through process two.
      const urlA = standIn.responseUrl();
      const urlB = standIn.responseUrl();
      const acks = await Promise.all([
        approve(slackOne, 'UADMINA', requestId, copyA as Call, urlA),
        approve(slackTwo, 'UADMINB', requestId, copyB as Call, urlB),
      ]);
      expect(acks.map((a) => a.status)).toEqual([200, 200]);

      // The decision: one, by one of the two.
      const decided = await waitFor(
        async () => {
          const row = await db.knex('access_requests').where({ id: requestId }).first();
          return row.status === 'open' ? undefined : row;
        },
        10_000,
        `${asker}'s request decided`,
      );
      expect(decided.status).toBe('approved');
      expect(ADMINS).toContain(decided.decided_by);
      const winner = decided.decided_by as string;
      const loser = winner === 'UADMINA' ? 'UADMINB' : 'UADMINA';
      const [winnerUrl, loserUrl] = winner === 'UADMINA' ? [urlA, urlB] : [urlB, urlA];

      // Everything the winning decision set off has arrived; a second decision's DM and updates
      // would come soon after, so they are given the time to.
      await waitFor(() => standIn.dmsTo(asker).length >= 1, 10_000, `${asker} told`);
      await waitFor(() => updatesFor(asker).length >= 2, 10_000, `both copies of ${asker}'s request changed`);
      await pause(SETTLE_MS);

      // The person: one DM (the approval), one membership, one audit entry.
      const dms = standIn.dmsTo(asker);
      expect(dms).toHaveLength(1);
      expect(String(dms[0]?.params.text)).toContain(`<@${winner}> approved your request`);
      const rows = await membersRows(asker);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'active', role: 'AccountUser', invited_by: winner });
      const entries = await registeredEntries(asker);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actor: winner });

      // Both copies, each once, say who approved.
      const updates = updatesFor(asker);
      expect(updates).toHaveLength(2);
      for (const update of updates) {
        expect(String(update.params.text)).toContain(`<@${asker}>'s access request: approved by <@${winner}>`);
        expect(JSON.stringify(update.params.blocks)).not.toContain(BUTTONS.approveRequest);
      }
      const changed = updates.map((u) => `${u.params.channel}@${u.params.ts}`).sort();
      const sent = [copyA, copyB].map((c) => `${c?.params.channel}@${c?.response?.ts}`).sort();
      expect(changed).toEqual(sent);

      // The admin who lost is told once, naming the winner; the winner is told nothing that way.
      await waitFor(() => answersTo(loserUrl).length >= 1, 10_000, `${loser} told who decided`);
      const lost = answersTo(loserUrl);
      expect(lost).toHaveLength(1);
      expect(String(lost[0]?.body.text)).toMatch(/^Already approved by <@UADMIN[AB]>: nothing changed\.$/);
      expect(String(lost[0]?.body.text)).toBe(`Already approved by <@${winner}>: nothing changed.`);
      expect(answersTo(winnerUrl)).toHaveLength(0);
    }
    // No round left an open request or a request decided twice behind.
    const all = await db.knex('access_requests').whereIn('slack_user_id', ASKERS);
    expect(all).toHaveLength(ROUNDS);
    expect(all.every((r) => r.status === 'approved')).toBe(true);
  });
});
