// `/chatbees-users …` end to end: Slack-signed requests to the real bot, a Web API stand-in,
// real services on each backend.
import { describe, expect, it } from 'vitest';
import { changeRole } from '../../src/services/operations/change-role.js';
import { botUnderTest, startTestBot } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { insertMembers } from '../support/fixtures.js';
import { SlackStandIn, TEAM_ID, waitFor } from '../support/slack-stand-in.js';

describe.each(backends)('/chatbees-users on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1'], env: { INITIAL_ADMINS: 'UADMIN1' } });

  let counter = 0;
  /** A fresh person known to Slack: AccountUser, unregistered, or whatever the test makes them. */
  function person(extra: Parameters<SlackStandIn['addUser']>[0] extends infer T ? Partial<T> : never = {}): string {
    counter += 1;
    const id = `UP${String(counter).padStart(6, '0')}`;
    t.standIn.addUser({ id, name: `person${counter}`, ...extra });
    return id;
  }
  async function member(role: 'AccountAdmin' | 'AccountUser' = 'AccountUser'): Promise<string> {
    const id = person();
    await insertMembers(t.db.knex, t.running.account, [{ slackUserId: id, role, displayName: id.toLowerCase() }]);
    return id;
  }

  /** Runs a command; `followUp` waits for the answer posted to its response_url. */
  async function run(user: string, text: string, headers: Record<string, string> = {}) {
    const body = t.running.slack.commandBody(user, text);
    const responseUrl = body.get('response_url') as string;
    const ack = await t.running.slack.post(body.toString(), headers);
    const id = responseUrl.split('/').pop();
    const followUps = () => t.standIn.responseUrlPosts.filter((p) => p.id === id);
    return {
      ack,
      ackText: String(ack.json?.text ?? ''),
      body,
      followUps,
      followUp: async () => String((await waitFor(() => followUps()[0], 5_000, `answer to "${text}"`)).body.text ?? ''),
    };
  }

  const activeMember = (id: string) =>
    t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: id }).first();
  const auditRows = () => t.db.knex('audit_log').where({ account_id: t.running.account.id }).orderBy('id');
  const invitesFor = (id: string) =>
    t.db.knex('invites').where({ account_id: t.running.account.id, for_slack_user_id: id }).orderBy('created_at');
  const registrationUrlIn = (text: string) => /<(https:\/\/bees\.example\.test\/register\/[^|>]+)\|/.exec(text)?.[1];

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

  describe('help and whoami', () => {
    it('gives admins the full list and others a short one', async () => {
      const admin = await run('UADMIN1', 'help');
      expect(admin.ackText).toMatch(/invite @person/);
      expect(admin.ackText).toMatch(/role @person AccountAdmin\|AccountUser/);
      expect(admin.ack.json?.response_type).toBe('ephemeral');
      const user = await run(await member(), 'help');
      expect(user.ackText).toMatch(/You are an AccountUser \(read-only\)/);
      expect(user.ackText).not.toMatch(/invite @person/);
      const stranger = await run(person(), 'help');
      expect(stranger.ackText).toMatch(/not registered in this ChatBees account: ask an AccountAdmin for an invite/);
    });

    it('tells each person their role, and a non-member whom to ask', async () => {
      expect((await run('UADMIN1', 'whoami')).ackText).toMatch(/You are an \*AccountAdmin\* of \*Acme Bees\*/);
      expect((await run(await member(), 'whoami')).ackText).toMatch(/You are an \*AccountUser\*.*read-only/);
      const stranger = await run(person(), 'whoami');
      expect(stranger.ackText).toMatch(/not registered in \*Acme Bees\*/);
      expect(stranger.ackText).toMatch(/Ask an AccountAdmin \(<@UADMIN1>\) for an invite/);
    });

    it('shows an AccountUser their role instead of the console, and never opens it for them', async () => {
      const opened = t.standIn.callsTo('views.open').length;
      const user = await run(await member(), '');
      expect(user.ackText).toMatch(/AccountUser/);
      const stranger = await run(person(), '');
      expect(stranger.ackText).toMatch(/not registered/);
      expect(t.standIn.callsTo('views.open').length).toBe(opened);
    });

    it('answers an unknown subcommand with short help', async () => {
      const answer = await run('UADMIN1', 'frobnicate');
      expect(answer.ackText).toMatch(/I don't know "frobnicate"\. Try: invite, invites/);
    });
  });

  describe('refusals', () => {
    const adminOnly = [
      'list',
      'invites',
      'invite <@UADMIN1>',
      'invite',
      'revoke abcdefghij',
      'role <@UADMIN1> user',
      'remove <@UADMIN1>',
      'audit',
      'role',
    ];
    // A refusal repeated within a minute is recorded once: one row per distinct operation (`invite`
    // alone makes a link for anyone, another operation than inviting people; `role` twice is one).
    const distinctOperations = 8;

    it('refuses every admin command to an AccountUser, naming the role, and audits it', async () => {
      const user = await member();
      for (const text of adminOnly) {
        const answer = await run(user, text);
        expect(answer.ackText, text).toMatch(/needs the AccountAdmin role; you are an AccountUser/);
      }
      // The refusal is answered first and recorded right after.
      const refused = await waitFor(async () => {
        const rows = (await auditRows()).filter((r) => r.action === 'access.refused' && r.actor === user);
        return rows.length === distinctOperations && rows;
      });
      expect(refused[0].after).toMatchObject({ reason: 'not_admin' });
      expect(new Set(refused.map((r) => r.after.operation))).toEqual(
        new Set([
          'members.list',
          'invites.list',
          'invites.send',
          'invites.share_link',
          'invites.revoke',
          'members.change_role',
          'members.remove',
          'audit.read',
        ]),
      );
      expect((await activeMember('UADMIN1')).role).toBe('AccountAdmin');
    });

    it('tells a non-member they are not registered and to ask for an invite', async () => {
      const stranger = person();
      for (const text of adminOnly) {
        const answer = await run(stranger, text);
        expect(answer.ackText, text).toMatch(
          /You are not registered in this ChatBees account\. Ask an AccountAdmin to invite you/,
        );
      }
      expect(t.standIn.dmsTo('UADMIN1').filter((c) => String(c.params.text).includes(stranger))).toHaveLength(0);
      const refused = await waitFor(async () => {
        const rows = (await auditRows()).filter((r) => r.action === 'access.refused' && r.actor === stranger);
        return rows.length === distinctOperations && rows;
      });
      expect(refused.every((r) => r.after.reason === 'not_member')).toBe(true);
    });

    it('re-checks on every request: a demoted admin is refused at once', async () => {
      const admin = await member('AccountAdmin');
      expect((await run(admin, 'list')).ackText).toMatch(/Members of/);
      await changeRole(
        t.running.bot.services,
        { accountId: t.running.account.id, slackUserId: 'UADMIN1', source: 'slash_command' },
        { user: admin, role: 'AccountUser' },
      );
      expect((await run(admin, 'list')).ackText).toMatch(/needs the AccountAdmin role/);
    });

    it('answers bad input with one clear line, never a stack trace', async () => {
      const cases: Array<[string, RegExp]> = [
        ['role <@UADMIN1>', /Name one person and a role/],
        ['role <@UADMIN1> boss', /"boss" is not a role/],
        ['remove bob', /"bob" is not a Slack user I can recognise/],
        ['x'.repeat(4000), /too long/],
        ['list\u0007', /control characters/],
        ['audit many', /Give a number from 1 to 50/],
      ];
      for (const [text, expected] of cases) {
        const answer = await run('UADMIN1', text);
        expect(answer.ack.status).toBe(200);
        expect(answer.ackText, text).toMatch(expected);
        expect(answer.ackText).not.toMatch(/\n\s+at |Error:/);
      }
    });

    it('escapes what people typed, so nobody gets pinged', async () => {
      const answer = await run('UADMIN1', '<!channel> hello');
      expect(answer.ackText).toContain('&lt;!channel&gt;');
      expect(answer.ackText).not.toContain('<!channel>');
      const role = await run('UADMIN1', 'role <@UADMIN1> <!here>');
      expect(role.ackText).not.toContain('<!here>');
    });
  });

  describe('list', () => {
    it('lists members with mention, role and registration date, paged, with the total', async () => {
      const first = await run('UADMIN1', 'list');
      const total = Number(/— (\d+) in all/.exec(first.ackText)?.[1]);
      const rows = await t.db
        .knex('members')
        .where({ account_id: t.running.account.id, status: 'active' })
        .count({ n: '*' })
        .first();
      expect(total).toBe(Number(rows?.n));
      const blocks = first.ack.json?.blocks as Array<{ text?: { text: string } }>;
      const lines = blocks.map((b) => b.text?.text ?? '').join('\n');
      expect(lines).toMatch(/<@UADMIN1> · \*AccountAdmin\* · registered <!date\^\d+\^\{date_short\}\|\d{4}-\d\d-\d\d/);
    });

    it('pages through 60 members in stable order without repeating anyone', async () => {
      await insertMembers(
        t.db.knex,
        t.running.account,
        Array.from({ length: 60 }, (_, i) => ({
          slackUserId: `ULIST${String(i).padStart(4, '0')}`,
          displayName: `zz list ${String(i).padStart(2, '0')}`,
        })),
      );
      const seen: string[] = [];
      const first = await run('UADMIN1', 'list');
      const pages = Number(/page 1 of (\d+)/.exec(first.ackText)?.[1]);
      expect(pages).toBeGreaterThanOrEqual(3);
      for (let page = 1; page <= pages; page++) {
        const answer = await run('UADMIN1', `list page ${page}`);
        expect(answer.ackText).toContain(`page ${page} of ${pages}`);
        const blocks = (answer.ack.json?.blocks ?? []) as Array<{
          text?: { text: string };
          elements?: Array<{ text?: string }>;
        }>;
        const text = blocks.map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(' ') ?? '').join('\n');
        seen.push(...[...text.matchAll(/<@(U[A-Z0-9]+)>/g)].map((m) => m[1] as string));
        if (page < pages) expect(text).toContain(`list page ${page + 1}`);
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => id.startsWith('ULIST'))).toEqual(
        Array.from({ length: 60 }, (_, i) => `ULIST${String(i).padStart(4, '0')}`),
      );
    });
  });

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
      const id = (body.get('response_url') as string).split('/').pop();
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

  describe('role and remove', () => {
    it('changes a role and tells the member by DM; admin and user work in any case', async () => {
      const p = await member();
      const promoted = await (await run('UADMIN1', `role <@${p}|x> ADMIN`)).followUp();
      expect(promoted).toBe(`<@${p}> is now an *AccountAdmin*. I told them by DM.`);
      expect((await activeMember(p)).role).toBe('AccountAdmin');
      expect(String(t.standIn.dmsTo(p)[0]?.params.text)).toMatch(
        /<@UADMIN1> made you an \*AccountAdmin\* of \*Acme Bees\*/,
      );
      const demoted = await (await run('UADMIN1', `role <@${p}> user`)).followUp();
      expect(demoted).toMatch(/is now an \*AccountUser\*/);
      const same = await (await run('UADMIN1', `role <@${p}> AccountUser`)).followUp();
      expect(same).toMatch(/already an AccountUser; nothing changed/);
      const rows = (await auditRows()).filter(
        (r) => r.action === 'member.role_changed' && r.target_slack_user_id === p,
      );
      expect(rows.map((r) => [r.actor, r.before.role, r.after.role])).toEqual([
        ['UADMIN1', 'AccountUser', 'AccountAdmin'],
        ['UADMIN1', 'AccountAdmin', 'AccountUser'],
      ]);
    });

    it('keeps at least one AccountAdmin', async () => {
      // Make UADMIN1 the only admin for this test.
      await t.db
        .knex('members')
        .where({ account_id: t.running.account.id, role: 'AccountAdmin' })
        .whereNot({ slack_user_id: 'UADMIN1' })
        .update({ role: 'AccountUser' });
      const demote = await (await run('UADMIN1', 'role <@UADMIN1> user')).followUp();
      expect(demote).toMatch(/at least one AccountAdmin/);
      const remove = await (await run('UADMIN1', 'remove <@UADMIN1>')).followUp();
      expect(remove).toMatch(/at least one AccountAdmin/);
      expect(await activeMember('UADMIN1')).toMatchObject({ role: 'AccountAdmin', status: 'active' });
    });

    it('removes a member (soft delete), tells them, and refuses them from then on', async () => {
      const p = await member();
      const answer = await (await run('UADMIN1', `remove <@${p}>`)).followUp();
      expect(answer).toMatch(
        new RegExp(`Removed <@${p}> from \\*Acme Bees\\*; their access has ended\\. I told them by DM\\.`),
      );
      expect(await activeMember(p)).toMatchObject({ status: 'removed', removed_by: 'UADMIN1' });
      expect(String(t.standIn.dmsTo(p)[0]?.params.text)).toMatch(/removed you from \*Acme Bees\*/);
      expect((await run(p, 'whoami')).ackText).toMatch(/not registered/);
      expect((await run(p, 'list')).ackText).toMatch(/not registered/);
    });

    it('names an unknown person clearly', async () => {
      expect(await (await run('UADMIN1', 'role <@UNOBODY42> admin')).followUp()).toBe(
        'That person is not an active member of this account.',
      );
      expect(await (await run('UADMIN1', 'remove <@UNOBODY42>')).followUp()).toBe(
        'That person is not an active member of this account.',
      );
    });

    it('tells the admin when the member could not be told', async () => {
      const p = await member();
      t.standIn.fail('conversations.open', { error: 'user_disabled' });
      const answer = await (await run('UADMIN1', `role <@${p}> admin`)).followUp();
      expect(answer).toMatch(
        /is now an \*AccountAdmin\*\. I could not tell them by DM \(user_disabled\); please let them know\./,
      );
    });
  });

  describe('audit', () => {
    it('shows the latest N changes: who, what, whom, when', async () => {
      const p = await member();
      await (await run('UADMIN1', `role <@${p}> admin`)).followUp();
      await (await run('UADMIN1', `remove <@${p}>`)).followUp();
      const answer = await run('UADMIN1', 'audit 2');
      const lines = answer.ackText.split('\n').slice(1);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^<!date\\^\\d+\\^[^>]+> — <@UADMIN1> removed <@${p}>$`));
      expect(lines[1]).toMatch(new RegExp(`<@UADMIN1> changed <@${p}>'s role AccountUser → AccountAdmin$`));
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
