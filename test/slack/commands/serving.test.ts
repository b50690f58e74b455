// `/chatbees-users …` end to end: which requests the bot serves, and with what token.
import { describe, expect, it } from 'vitest';
import { startTestBot } from '../../support/bot.js';
import { commandBot } from '../../support/command-bot.js';
import { backends } from '../../support/databases.js';
import { SlackStandIn, TEAM_ID } from '../../support/slack-stand-in.js';

describe.each(backends)('/chatbees-users on $name', (backend) => {
  const { t, activeMember, auditRows } = commandBot(backend);

  describe('serving', () => {
    it('refuses a request with a bad signature or an old timestamp, and changes nothing', async () => {
      const before = (await auditRows()).length;
      const body = t.running.slack.commandBody('UADMIN1', 'invite <@UADMIN1>').toString();
      expect((await t.running.slack.post(body, {}, { secret: 'wrong-secret' })).status).toBe(401);
      const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
      expect((await t.running.slack.post(body, {}, { timestamp: sixMinutesAgo })).status).toBe(401);
      expect((await auditRows()).length).toBe(before);
    });

    it('refuses another workspace with a clear answer and changes nothing', async () => {
      const before = await auditRows();
      const body = t.running.slack.commandBody('UADMIN1', 'remove <@UADMIN1>', { team_id: 'TOTHER' });
      const ack = await t.running.slack.post(body.toString());
      expect(ack.status).toBe(200);
      expect(ack.json?.text).toMatch(/serves another Slack workspace; nothing was changed/);
      expect(await auditRows()).toEqual(before);
      expect((await activeMember('UADMIN1')).status).toBe('active');
    });

    it('uses the bot token against SLACK_API_URL', async () => {
      const auth = t.standIn.callsTo('auth.test')[0];
      expect(auth?.authorization).toBe('Bearer xoxb-1111-2222-standinbottoken');
    });
  });
});

describe('names from Slack are escaped', () => {
  it('shows a workspace named <!channel> without pinging anyone', async () => {
    const db = await backends[0]!.open();
    const standIn = await new SlackStandIn().start();
    standIn.on('auth.test', () => ({ team_id: TEAM_ID, team: '<!channel> & co', user_id: 'UBOT', bot_id: 'B1' }));
    standIn.addUser({ id: 'UADMIN1' });
    const running = await startTestBot({ db, standIn, env: { INITIAL_ADMINS: 'UADMIN1' } });
    try {
      const answer = await running.slack.command('UADMIN1', 'whoami');
      expect(String(answer.json?.text)).toContain('&lt;!channel&gt; &amp; co');
      expect(String(answer.json?.text)).not.toContain('<!channel>');
    } finally {
      await running.stop();
      await standIn.stop();
      await db.close();
    }
  });
});
