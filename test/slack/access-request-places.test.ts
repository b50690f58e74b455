// Request access wherever a non-member is told they are not one, end to end over the real bot:
// the bare command's answer, a refused admin command, the Home tab (its press answers in a small
// window), the welcome DM of someone who joined the workspace and an expired invitation's DM
// (whose request names that invitation to the admins). Someone with an open request is told so
// instead of being offered the button; the console and an admin's Home tab count open requests.
import { beforeEach, describe, expect, it } from 'vitest';
import { BUTTONS } from '../../src/slack/operations.js';
import { botUnderTest, resetAccount } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { triggerId } from '../support/slack-requests.js';
import { type Call, TEAM_ID, waitFor } from '../support/slack-stand-in.js';

const ADMINS = ['UADMIN1', 'UADMIN2'];

interface Element {
  action_id?: string;
  value?: string;
}

interface Block {
  type: string;
  block_id?: string;
  text?: { text?: string };
  fields?: Array<{ text?: string }>;
  elements?: Element[];
  accessory?: Element;
}

/** Blocks as Slack got them (the Web API client may send them JSON-encoded). */
function blocksOf(raw: unknown): Block[] {
  const blocks = typeof raw === 'string' ? JSON.parse(raw) : raw;
  return Array.isArray(blocks) ? (blocks as Block[]) : [];
}

/** The Request access button among `raw` blocks, if there is one. */
function requestButton(raw: unknown): Element | undefined {
  return blocksOf(raw)
    .flatMap((b) => [...(b.elements ?? []), ...(b.accessory ? [b.accessory] : [])])
    .find((e) => e.action_id === BUTTONS.requestAccess);
}

/** Every text a list of blocks shows: sections' text and fields. */
function textsOf(raw: unknown): string[] {
  return blocksOf(raw).flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text ?? '')]);
}

/** `<!date^SECONDS^`: how a Slack date of `when` starts. */
const slackDateOf = (when: Date | string) => `<!date^${Math.floor(new Date(when).getTime() / 1000)}^`;

describe.each(backends)('Request access in each place a non-member is told so on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), {
    users: ['UADMIN1', 'UADMIN2', 'UBOB', 'UCAROL', 'UNEW'],
    // Invitations expire within seconds (an expired invitation's DM offers Request access).
    env: { REGISTRATION_LINK_TTL: '3s', INVITE_REMINDER_BEFORE: 'off' },
  });
  beforeEach(async () => {
    await t.db.knex('access_requests').del();
    await resetAccount(t.running, t.db, t.standIn, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' },
      { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Cleo' },
      { slackUserId: 'UCAROL', role: 'AccountUser', displayName: 'Carol' },
    ]);
  });

  /** DMs to `user` among the Slack calls made since call number `from`. */
  const dmsSince = (user: string, from: number) =>
    t.standIn.calls
      .slice(from)
      .filter((c) => c.method === 'chat.postMessage' && c.params.channel === `D${user.slice(1)}`);

  const requestsOf = (user: string) =>
    t.db.knex('access_requests').where({ account_id: t.running.account.id, slack_user_id: user });

  /**
   * `user` presses Request access (with `value`) in a message (a DM, or an answer only they see);
   * resolves with the answer posted to that press's response_url.
   */
  async function pressInMessage(user: string, value: string, at = { channel: 'D0BOT', ts: '1.1' }) {
    const responseUrl = t.standIn.responseUrl();
    const res = await t.running.slack.blockAction(
      user,
      { action_id: BUTTONS.requestAccess, value, block_id: 'request_access' },
      {},
      {
        container: { type: 'message', channel_id: at.channel, message_ts: at.ts },
        channel: { id: at.channel },
        message: { ts: at.ts },
        response_url: responseUrl,
      },
    );
    expect(res.status).toBe(200);
    const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
    const post = await waitFor(
      () => t.standIn.responseUrlPosts.find((p) => p.id === id),
      10_000,
      `the answer to ${user}'s press`,
    );
    return String(post.body.text);
  }

  /**
   * `user` has exactly one open request, and each admin got a copy of it (a DM among the calls
   * since `from`) with Approve and Deny for it.
   */
  async function expectRequested(user: string, from: number) {
    const rows = await requestsOf(user);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row.status).toBe('open');
    const copies = await waitFor(
      () => {
        const each = ADMINS.map((admin) =>
          dmsSince(admin, from).find((c) => String(c.params.text).startsWith(`<@${user}> asks for access`)),
        );
        return each.every(Boolean) ? (each as Call[]) : undefined;
      },
      10_000,
      `a copy of ${user}'s request for each admin`,
    );
    for (const copy of copies) {
      const approve = blocksOf(copy.params.blocks)
        .flatMap((b) => b.elements ?? [])
        .find((e) => e.action_id === BUTTONS.approveRequest);
      expect(approve?.value).toBe(String(row.id));
    }
    return { row, copies };
  }

  /** Opens the Home tab as `user`; resolves with the blocks published for them after it. */
  async function openHome(user: string) {
    const from = t.standIn.calls.length;
    const res = await t.running.slack.event({ type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home' });
    expect(res.status).toBe(200);
    const call = await waitFor(
      () => t.standIn.calls.slice(from).find((c) => c.method === 'views.publish' && c.params.user_id === user),
      10_000,
      `views.publish for ${user}`,
    );
    const view = (typeof call.params.view === 'string' ? JSON.parse(call.params.view) : call.params.view) as {
      type: string;
      blocks: unknown;
    };
    expect(view.type).toBe('home');
    const texts = textsOf(view.blocks);
    return { blocks: view.blocks, texts, text: texts.join('\n') };
  }

  /** `user` asks with `/chatbees-users request`; resolves once the answer came. */
  async function askByCommand(user: string) {
    const before = t.standIn.responseUrlPosts.length;
    const ack = await t.running.slack.command(user, 'request');
    expect(ack.status).toBe(200);
    const answer = await waitFor(
      () => t.standIn.responseUrlPosts.slice(before).find((p) => String(p.body.text).includes('your request')),
      10_000,
      `the answer to ${user}'s request`,
    );
    expect(String(answer.body.text)).toContain('2 AccountAdmins have your request');
  }

  it('the bare command offers a non-member Request access (a member is not offered it); pressing it asks', async () => {
    const ack = await t.running.slack.command('UBOB', '');
    expect(ack.status).toBe(200);
    expect(String(ack.json?.text)).toContain('You are not registered');
    expect(String(ack.json?.text)).toContain('or press *Request access*');
    const button = requestButton(ack.json?.blocks);
    expect(button?.value).toBe('request');

    const carol = await t.running.slack.command('UCAROL', '');
    expect(String(carol.json?.text)).toContain('You are an *AccountUser*');
    expect(JSON.stringify(carol.json ?? {})).not.toContain(BUTTONS.requestAccess);
    expect(await requestsOf('UBOB')).toHaveLength(0);

    const from = t.standIn.calls.length;
    expect(await pressInMessage('UBOB', String(button?.value))).toContain('2 AccountAdmins have your request');
    const { row } = await expectRequested('UBOB', from);
    expect(row.invite_id).toBeNull();
  });

  it('a refused admin command offers a non-member Request access (an AccountUser is only refused); pressing it asks', async () => {
    for (const text of ['list', 'invite <@UNEW>']) {
      const ack = await t.running.slack.command('UBOB', text);
      expect(ack.status).toBe(200);
      expect(String(ack.json?.text)).toContain('You are not registered in this ChatBees account');
      expect(requestButton(ack.json?.blocks)?.value).toBe('request');
    }
    expect(await t.db.knex('invites')).toHaveLength(0);

    const carol = await t.running.slack.command('UCAROL', 'list');
    expect(String(carol.json?.text)).toMatch(/needs the AccountAdmin role; you are an AccountUser/);
    expect(JSON.stringify(carol.json ?? {})).not.toContain(BUTTONS.requestAccess);

    const refused = await t.running.slack.command('UBOB', 'list');
    const from = t.standIn.calls.length;
    const answer = await pressInMessage('UBOB', String(requestButton(refused.json?.blocks)?.value));
    expect(answer).toContain('2 AccountAdmins have your request');
    await expectRequested('UBOB', from);
  });

  it('the Home tab offers a non-member Request access; pressing it there answers in a window, and the tab then says they asked', async () => {
    const bob = await openHome('UBOB');
    expect(bob.text).toContain('You are not registered');
    const button = requestButton(bob.blocks);
    expect(button?.value).toBe('request');
    for (const member of ['UCAROL', 'UADMIN1']) {
      const home = await openHome(member);
      expect(home.text).toContain('You are an *Account');
      expect(JSON.stringify(home.blocks)).not.toContain(BUTTONS.requestAccess);
    }

    // Pressed in the Home tab: no response_url; the answer opens as a modal.
    const from = t.standIn.calls.length;
    const trigger = triggerId();
    const res = await t.running.slack.blockAction(
      'UBOB',
      { action_id: BUTTONS.requestAccess, value: String(button?.value), block_id: 'request_access' },
      { view: { id: 'VHOMEBOB', type: 'home' } },
      {
        trigger_id: trigger,
        view: {
          id: 'VHOMEBOB',
          type: 'home',
          team_id: TEAM_ID,
          hash: 'h1',
          callback_id: '',
          private_metadata: '',
          state: { values: {} },
        },
      },
    );
    expect(res.status).toBe(200);
    const opened = await waitFor(
      () => t.standIn.calls.slice(from).find((c) => c.method === 'views.open' && c.params.trigger_id === trigger),
      10_000,
      'the answer opened as a window',
    );
    const window = opened.params.view as { type: string; title: { text: string }; blocks: unknown };
    expect(window.type).toBe('modal');
    expect(window.title.text).toBe('Request access');
    expect(textsOf(window.blocks).join('\n')).toContain('2 AccountAdmins have your request');
    const { row } = await expectRequested('UBOB', from);
    // Nothing else answered the press: no message, no Home view replaced by a modal.
    expect(t.standIn.calls.slice(from).filter((c) => c.method === 'views.open')).toHaveLength(1);
    expect(t.standIn.calls.slice(from).filter((c) => c.method === 'views.update')).toHaveLength(0);

    const again = await openHome('UBOB');
    expect(again.text).toContain(`You asked for access ${slackDateOf(row.created_at)}`);
    expect(again.text).toContain('the AccountAdmins have your request');
    expect(JSON.stringify(again.blocks)).not.toContain(BUTTONS.requestAccess);
  });

  it('the welcome DM of someone who joined the workspace offers Request access; pressing it asks', async () => {
    const from = t.standIn.calls.length;
    const res = await t.running.slack.event({
      type: 'team_join',
      user: { id: 'UNEW', team_id: TEAM_ID, name: 'unew' },
    });
    expect(res.status).toBe(200);
    const welcome = await waitFor(() => dmsSince('UNEW', from)[0], 10_000, 'the welcome DM');
    expect(String(welcome.params.text)).toContain('press *Request access* or ask an AccountAdmin');
    const button = requestButton(welcome.params.blocks);
    expect(button?.value).toBe('request');

    const at = { channel: String(welcome.params.channel), ts: String(welcome.response?.ts) };
    const pressed = t.standIn.calls.length;
    expect(await pressInMessage('UNEW', String(button?.value), at)).toContain('2 AccountAdmins have your request');
    const { row } = await expectRequested('UNEW', pressed);
    expect(row.invite_id).toBeNull();
  });

  it("an expired invitation's DM offers Request access, and the admins' copies name that invitation", async () => {
    const from = t.standIn.calls.length;
    await t.running.slack.command('UADMIN1', 'invite <@UBOB>');
    const dm = await waitFor(() => dmsSince('UBOB', from)[0], 10_000, 'the invitation');
    // While it works, the invitation offers no Request access.
    expect(JSON.stringify(dm.params.blocks)).not.toContain(BUTTONS.requestAccess);
    const at = { channel: String(dm.params.channel), ts: String(dm.response?.ts) };
    const invite = await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).first();
    const expired = await waitFor(
      () =>
        t.standIn.calls
          .slice(from)
          .find(
            (c) =>
              c.method === 'chat.update' &&
              c.params.channel === at.channel &&
              c.params.ts === at.ts &&
              String(c.params.text).includes('This invitation expired'),
          ),
      15_000,
      'the expiry shown',
    );
    const blocks = JSON.stringify(expired.params.blocks);
    expect(blocks).toContain(BUTTONS.askAgain);
    expect(blocks).not.toContain(BUTTONS.acceptInvitation);
    const button = requestButton(expired.params.blocks);
    expect(button?.value).toBe(`invite:${invite.id}`);

    const pressed = t.standIn.calls.length;
    expect(await pressInMessage('UBOB', String(button?.value), at)).toContain('2 AccountAdmins have your request');
    const { row, copies } = await expectRequested('UBOB', pressed);
    expect(row.invite_id).toBe(invite.id);
    for (const copy of copies) {
      expect(String(copy.params.text)).toContain(
        `Their invitation from <@UADMIN1> expired ${slackDateOf(invite.expires_at)}`,
      );
    }
    // Asking again from the same DM asks nothing more.
    const later = t.standIn.calls.length;
    expect(await pressInMessage('UBOB', String(button?.value), at)).toContain('You asked');
    expect(await requestsOf('UBOB')).toHaveLength(1);
    expect(ADMINS.flatMap((a) => dmsSince(a, later))).toHaveLength(0);
  });

  it("someone else pressing an expired invitation's Request access asks for themselves, naming no invitation", async () => {
    const from = t.standIn.calls.length;
    await t.running.slack.command('UADMIN1', 'invite <@UBOB>');
    const dm = await waitFor(() => dmsSince('UBOB', from)[0], 10_000, 'the invitation');
    const at = { channel: String(dm.params.channel), ts: String(dm.response?.ts) };
    const expired = await waitFor(
      () =>
        t.standIn.calls
          .slice(from)
          .find(
            (c) =>
              c.method === 'chat.update' &&
              c.params.channel === at.channel &&
              String(c.params.text).includes('This invitation expired'),
          ),
      15_000,
      'the expiry shown',
    );
    const value = String(requestButton(expired.params.blocks)?.value);
    expect(value).toMatch(/^invite:/);

    const pressed = t.standIn.calls.length;
    expect(await pressInMessage('UNEW', value, at)).toContain('2 AccountAdmins have your request');
    const { row, copies } = await expectRequested('UNEW', pressed);
    expect(row.invite_id).toBeNull();
    for (const copy of copies) expect(String(copy.params.text)).not.toContain('Their invitation');
    expect(await requestsOf('UBOB')).toHaveLength(0);
  });

  it('with an open request, whoami, the bare command and the Home tab say since when, with no button', async () => {
    await askByCommand('UBOB');
    const [row] = await requestsOf('UBOB');
    const since = slackDateOf(row.created_at);

    for (const text of ['whoami', '']) {
      const ack = await t.running.slack.command('UBOB', text);
      expect(ack.status).toBe(200);
      expect(String(ack.json?.text)).toContain(`You asked for access ${since}`);
      expect(String(ack.json?.text)).toContain(': the AccountAdmins have your request');
      expect(String(ack.json?.text)).not.toContain('press *Request access*');
      expect(JSON.stringify(ack.json ?? {})).not.toContain(BUTTONS.requestAccess);
    }
    const home = await openHome('UBOB');
    expect(home.text).toContain(`You asked for access ${since}`);
    expect(home.text).toContain(': the AccountAdmins have your request');
    expect(JSON.stringify(home.blocks)).not.toContain(BUTTONS.requestAccess);

    // Someone who has not asked is still offered it.
    const other = await t.running.slack.command('UNEW', 'whoami');
    expect(String(other.json?.text)).not.toContain('You asked for access');
    expect(requestButton(other.json?.blocks)?.value).toBe('request');
  });

  it("the console and an admin's Home tab show how many requests wait; a decided one no longer counts", async () => {
    /** The console's summary line, as `/chatbees-users` opens it for UADMIN1. */
    async function consoleSummary() {
      const from = t.standIn.calls.length;
      const trigger = triggerId();
      const ack = await t.running.slack.command('UADMIN1', '', { trigger_id: trigger });
      expect(ack.status).toBe(200);
      const opened = await waitFor(
        () => t.standIn.calls.slice(from).find((c) => c.method === 'views.open' && c.params.trigger_id === trigger),
        10_000,
        'the console',
      );
      const view = opened.params.view as { callback_id: string; blocks: unknown };
      expect(view.callback_id).toBe('admin_console');
      const summary = blocksOf(view.blocks).find((b) => b.block_id === 'summary');
      return String(summary?.text?.text);
    }
    /** The Access requests field of UADMIN1's Home tab. */
    async function homeField() {
      const { texts } = await openHome('UADMIN1');
      return texts.find((field) => field.startsWith('*Access requests*'));
    }

    expect(await consoleSummary()).not.toContain('access request');
    expect(await homeField()).toBe('*Access requests*\n0 waiting');

    await askByCommand('UBOB');
    await askByCommand('UNEW');
    expect(await consoleSummary()).toContain(':raising_hand: 2 access requests waiting: `/chatbees-users requests`');
    expect(await homeField()).toBe('*Access requests*\n2 waiting · `/chatbees-users requests`');

    // Approved: it waits no more.
    const [bob] = await requestsOf('UBOB');
    await t.running.slack.blockAction(
      'UADMIN1',
      { action_id: BUTTONS.approveRequest, value: String(bob.id) },
      {},
      { container: { type: 'message', channel_id: 'DADMIN1', message_ts: '1.1' } },
    );
    await waitFor(async () => (await requestsOf('UBOB'))[0]?.status === 'approved', 10_000, "Bob's request approved");
    expect(await consoleSummary()).toContain(':raising_hand: 1 access request waiting: `/chatbees-users requests`');
    expect(await homeField()).toBe('*Access requests*\n1 waiting · `/chatbees-users requests`');

    // A member who is not an admin sees no count.
    const carol = await openHome('UCAROL');
    expect(carol.text).not.toContain('Access requests');
  });
});
