// `/chatbees-users …` end to end: invite, invites and revoke.
import { describe, expect, it } from 'vitest';
import { commandBot, registrationUrlIn } from '../../support/command-bot.js';
import { backends } from '../../support/databases.js';
import { waitFor } from '../../support/slack-stand-in.js';

describe.each(backends)('/chatbees-users on $name', (backend) => {
  const { t, person, member, run, invitesFor } = commandBot(backend);

  describe('invite', () => {
    it('DMs each person a personal link, without link previews, and answers with the outcome per person', async () => {
      const [a, b] = [person(), person()];
      const run1 = await run('UADMIN1', `invite <@${a}|x> <@${b}>`);
      expect(run1.ackText).toBe('Inviting 2 people…');
      const answer = await run1.followUp();
      expect(answer).toMatch(/2 of 2 invited/);
      expect(answer).toContain(`:white_check_mark: <@${a}> — invited; registration link sent by DM`);
      expect(answer).toContain(`:white_check_mark: <@${b}>`);
      const dm = t.standIn.dmsTo(a)[0];
      expect(dm?.params).toMatchObject({ unfurl_links: false, unfurl_media: false });
      expect(String(dm?.params.text)).toMatch(
        /<@UADMIN1> invited you to join \*Acme Bees\* on ChatBees as an AccountUser/,
      );
      expect(String(dm?.params.text)).toMatch(/expires <!date\^/);
      const url = registrationUrlIn(String(dm?.params.text));
      expect(url).toBeDefined();
      const [invite] = await invitesFor(a);
      expect(invite).toMatchObject({ created_by: 'UADMIN1', max_uses: 1, uses: 0, role: 'AccountUser' });
      // The link is not in the admin's answer when the DM arrived.
      expect(answer).not.toContain('/register/');
    });

    it('says who is already a member and sends them nothing', async () => {
      const existing = await member();
      const answer = await (await run('UADMIN1', `invite <@${existing}>`)).followUp();
      expect(answer).toContain(`<@${existing}> — already a member; nothing sent`);
      expect(t.standIn.dmsTo(existing)).toHaveLength(0);
      expect(await invitesFor(existing)).toHaveLength(0);
    });

    it('refuses bots, deactivated people, unknown ids and people from other workspaces, by name', async () => {
      const bot = person({ is_bot: true });
      const gone = person({ deleted: true });
      const outsider = person({ team_id: 'TOTHER' });
      const answer = await (await run('UADMIN1', `invite <@${bot}> <@${gone}> <@UNOBODY99> <@${outsider}>`)).followUp();
      expect(answer).toContain(`<@${bot}> — not invited: is a bot or app, not a person`);
      expect(answer).toContain(`<@${gone}> — not invited: is deactivated in Slack`);
      expect(answer).toContain('<@UNOBODY99> — not invited: is not a Slack user I can find');
      expect(answer).toContain(`<@${outsider}> — not invited: is not in this workspace`);
      expect(answer).toMatch(/0 of 4 invited/);
      for (const id of [bot, gone, 'UNOBODY99', outsider]) {
        expect(await invitesFor(id)).toHaveLength(0);
        expect(t.standIn.dmsTo(id)).toHaveLength(0);
      }
    });

    it('refuses more than 50 people, sending nothing', async () => {
      const lookups = t.standIn.callsTo('users.info').length;
      const many = Array.from({ length: 51 }, (_, i) => `<@UMANY${String(i).padStart(4, '0')}>`).join(' ');
      const answer = await run('UADMIN1', `invite ${many}`);
      expect(answer.ackText).toMatch(/at most 50 people at once \(you named 51\); nothing was sent/);
      expect(t.standIn.callsTo('users.info').length).toBe(lookups);
      expect(await t.db.knex('invites').where('for_slack_user_id', 'like', 'UMANY%')).toHaveLength(0);
    });

    it('replaces a pending invite: the old link stops working', async () => {
      const p = person();
      await (await run('UADMIN1', `invite <@${p}>`)).followUp();
      const second = await (await run('UADMIN1', `invite <@${p}>`)).followUp();
      expect(second).toContain('it replaces their earlier link');
      const [old, current] = await invitesFor(p);
      expect(old).toMatchObject({ revoke_reason: 'replaced' });
      expect(current).toMatchObject({ revoked_at: null });
      const oldUrl = registrationUrlIn(String(t.standIn.dmsTo(p)[0]?.params.text)) as string;
      const page = await fetch(`${t.running.url}${new URL(oldUrl).pathname}`);
      expect(page.status).toBe(410);
    });

    it('puts the link in the admin answer when the DM fails, so nothing is lost', async () => {
      const p = person();
      t.standIn.fail('chat.postMessage', { error: 'channel_not_found' });
      const answer = await (await run('UADMIN1', `invite <@${p}>`)).followUp();
      expect(answer).toContain(`:warning: <@${p}> — invited, but I could not DM them (channel_not_found)`);
      const url = registrationUrlIn(answer) as string;
      expect(url).toBeDefined();
      const page = await fetch(`${t.running.url}${new URL(url).pathname}`);
      expect(page.status).toBe(200);
      expect((await invitesFor(p))[0]).toMatchObject({ uses: 0, revoked_at: null });
    });

    it('explains that a link for anyone needs Sign in with Slack, and points to invite @person', async () => {
      const answer = await run('UADMIN1', 'invite');
      expect(answer.ackText).toMatch(/need Sign in with Slack/);
      expect(answer.ackText).toContain('/chatbees-users invite @person');
      expect(await t.db.knex('invites').whereNull('for_slack_user_id')).toHaveLength(0);
    });

    it('creates one invite and one DM when Slack delivers the same command again', async () => {
      const p = person();
      const body = t.running.slack.commandBody('UADMIN1', `invite <@${p}>`);
      await t.running.slack.post(body.toString());
      await waitFor(() => t.standIn.dmsTo(p).length === 1);
      const again = await t.running.slack.post(body.toString(), {
        'X-Slack-Retry-Num': '1',
        'X-Slack-Retry-Reason': 'http_timeout',
      });
      expect(again.status).toBe(200);
      await waitFor(
        () => t.running.logs.some((line) => line.includes('redelivered command ignored')),
        5_000,
        'the redelivery',
      );
      expect(await invitesFor(p)).toHaveLength(1);
      expect(t.standIn.dmsTo(p)).toHaveLength(1);
      // The first delivery's answer comes after its DMs (later still under load); the second has none.
      const id = (body.get('response_url') as string).split('/').pop();
      await waitFor(() => t.standIn.responseUrlPosts.some((r) => r.id === id), 5_000, 'the answer');
      expect(t.standIn.responseUrlPosts.filter((r) => r.id === id)).toHaveLength(1);
    });
  });

  describe('invites and revoke', () => {
    it('lists pending invites with the invitee, the inviter, the expiry and the id', async () => {
      const p = person();
      await (await run('UADMIN1', `invite <@${p}>`)).followUp();
      const [invite] = await invitesFor(p);
      const answer = await run('UADMIN1', 'invites');
      expect(answer.ackText).toContain(`<@${p}> · invited by <@UADMIN1> · expires <!date^`);
      expect(answer.ackText).toContain(`\`${invite.id}\``);
    });

    it('pages the pending invites, 25 a page soonest to expire first, and says when a page is past the end', async () => {
      await t.db.knex('invites').delete();
      const soon = Date.now() + 86_400_000;
      await t.db.knex('invites').insert(
        Array.from({ length: 27 }, (_, i) => ({
          id: `paged${String(i).padStart(4, '0')}`,
          account_id: t.running.account.id,
          created_by: 'UADMIN1',
          for_slack_user_id: `UPAGED${String(i).padStart(4, '0')}`,
          role: 'AccountUser',
          created_at: new Date(),
          // The last one expires first.
          expires_at: new Date(soon + (27 - i) * 60_000),
          max_uses: 1,
        })),
      );
      // One that can no longer be used is not counted.
      await t.db
        .knex('invites')
        .where({ id: 'paged0000' })
        .update({ revoked_at: new Date(), revoked_by: 'UADMIN1', revoke_reason: 'revoked' });
      const first = (await run('UADMIN1', 'invites')).ackText;
      expect(first).toContain('— page 1, soonest to expire first');
      expect(first.match(/ · invited by /g)).toHaveLength(25);
      expect(first.indexOf('`paged0026`')).toBeLessThan(first.indexOf('`paged0025`'));
      expect(first).not.toContain('paged0001');
      expect(first).not.toContain('paged0000');
      expect(first).toContain('Next: `/chatbees-users invites page 2`');
      const second = (await run('UADMIN1', 'invites page 2')).ackText;
      expect(second).toContain('— page 2, soonest to expire first');
      expect(second.match(/ · invited by /g)).toHaveLength(1);
      expect(second).toContain('`paged0001`');
      expect(second).not.toContain('Next:');
      expect((await run('UADMIN1', 'invites 9')).ackText).toMatch(
        /page 9\nNothing on this page: `\/chatbees-users invites` shows the first/,
      );
    });

    it('revokes: the link stops working at once', async () => {
      const p = person();
      await (await run('UADMIN1', `invite <@${p}>`)).followUp();
      const [invite] = await invitesFor(p);
      const answer = await (await run('UADMIN1', `revoke ${invite.id}`)).followUp();
      expect(answer).toBe(`Revoked invite \`${invite.id}\` for <@${p}>: the link no longer works.`);
      const url = registrationUrlIn(String(t.standIn.dmsTo(p)[0]?.params.text)) as string;
      expect((await fetch(`${t.running.url}${new URL(url).pathname}`)).status).toBe(410);
      expect((await run('UADMIN1', 'invites')).ackText).not.toContain(invite.id);
      const again = await (await run('UADMIN1', `revoke ${invite.id}`)).followUp();
      expect(again).toBe('That invite was already revoked.');
      const unknown = await (await run('UADMIN1', 'revoke zzzzzzzzzz')).followUp();
      expect(unknown).toBe('No invite of this account has that id; `/chatbees-users invites` lists the pending ones.');
    });
  });
});
