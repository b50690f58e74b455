// Invitation caps as an admin meets them in Slack: past INVITE_LIMIT_PER_DAY, the people up to
// the cap are invited, the answer names who was not and when the cap frees up, no DM goes to
// them, and the Home tab says how many invitations are left once fewer than 20.
import { beforeEach, describe, expect, it } from 'vitest';
import { type BotUnderTest, botUnderTest, resetAccount, startTestBot } from '../support/bot.js';
import { openPgliteTestDatabase } from '../support/databases.js';
import { CLIENT_ID, CLIENT_SECRET, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

const PEOPLE = ['UADMIN1', 'UA', 'UB', 'UC', 'UD', 'UE'];

async function answerTo(t: BotUnderTest, user: string, text: string): Promise<string> {
  const before = t.standIn.responseUrlPosts.length;
  await t.running.slack.command(user, text);
  const post = await waitFor(() => t.standIn.responseUrlPosts[before], 10_000, `the answer to ${text}`);
  return String(post.body.text);
}

async function homeText(t: BotUnderTest, user: string): Promise<string> {
  const before = t.standIn.callsTo('views.publish').length;
  await t.running.slack.event({ type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home' });
  const call = await waitFor(() => t.standIn.callsTo('views.publish')[before], 5_000, 'the Home tab');
  return JSON.stringify(call.params.view);
}

describe('invitation caps in Slack', () => {
  const t = botUnderTest(openPgliteTestDatabase, {
    users: PEOPLE,
    env: { INVITE_LIMIT_PER_DAY: '2', SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET },
  });
  beforeEach(() => resetAccount(t.running, t.db, t.standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin' }]));

  it('invites up to the cap, names who was not invited and when it frees up, and DMs nobody past it', async () => {
    const answer = await answerTo(t, 'UADMIN1', 'invite <@UA> <@UB> <@UC> <@UD>');
    expect(answer).toContain('*Invites:* 2 of 4 invited');
    const capped = answer.split('\n').filter((line) => line.includes('you reached your limit of 2 invitations'));
    expect(capped).toHaveLength(2);
    expect(capped.join('\n')).toMatch(/you can invite again <!date\^\d+\^/);
    const invited = ['UA', 'UB', 'UC', 'UD'].filter((u) => t.standIn.dmsTo(u).length > 0);
    expect(invited).toHaveLength(2);
    expect(await t.db.knex('invites')).toHaveLength(2);

    // A link for anyone is an invitation too.
    const link = String((await t.running.slack.command('UADMIN1', 'invite link')).json?.text);
    expect(link).toMatch(/^Not made: you reached your limit of 2 invitations in 24 hours/);

    const home = await homeText(t, 'UADMIN1');
    expect(home).toContain('You can send 0 more invitations today (at most 2 in 24 hours). More from <!date^');
  });
});

describe('invitation caps over time', () => {
  it('opens again 24 hours after the first counted invitation; the Home tab is quiet with 20 or more left', async () => {
    const db = await openPgliteTestDatabase();
    const standIn = await new SlackStandIn().start();
    for (const id of PEOPLE) standIn.addUser({ id });
    let offset = 0;
    const running = await startTestBot({
      db,
      standIn,
      env: { INVITE_LIMIT_PER_DAY: '21', INITIAL_ADMINS: 'UADMIN1' },
      now: () => new Date(Date.now() + offset),
    });
    const t = { db, standIn, running } as BotUnderTest;
    try {
      expect(await homeText(t, 'UADMIN1')).not.toContain('more invitations today');
      await answerTo(t, 'UADMIN1', 'invite <@UA> <@UB>');
      expect(await homeText(t, 'UADMIN1')).toContain('You can send 19 more invitations today');
      // The same person, five times at most in 24 hours, whoever invites.
      for (let i = 0; i < 4; i++) await answerTo(t, 'UADMIN1', 'invite <@UA>');
      expect(await answerTo(t, 'UADMIN1', 'invite <@UA>')).toContain('already invited 5 times in the last 24 hours');
      offset = 86_400_000 + 1_000;
      expect(await answerTo(t, 'UADMIN1', 'invite <@UA>')).toContain('*Invites:* 1 of 1 invited');
    } finally {
      await running.stop();
      await standIn.stop();
      await db.close();
    }
  });
});
