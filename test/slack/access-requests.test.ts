// Access requests, end to end: a non-member asks with /chatbees-users request, each admin who can
// act gets a copy with Approve and Deny, and the first decision wins everywhere.
import { beforeEach, describe, expect, it } from 'vitest';
import { BUTTONS, FORMS } from '../../src/slack/operations.js';
import { botUnderTest, resetAccount } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { type Call, waitFor } from '../support/slack-stand-in.js';

describe.each(backends)('access requests on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1', 'UADMIN2', 'UBOB', 'UCAROL'] });
  beforeEach(async () => {
    await t.db.knex('access_requests').del();
    await resetAccount(t.running, t.db, t.standIn, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' },
      { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Cleo' },
      { slackUserId: 'UCAROL', role: 'AccountUser', displayName: 'Carol' },
    ]);
  });

  /** `user` runs `/chatbees-users <text>`; resolves with the answer posted to response_url. */
  async function run(user: string, text: string): Promise<string> {
    const before = t.standIn.responseUrlPosts.length;
    const ack = await t.running.slack.command(user, text);
    if (typeof ack.json?.text === 'string' && ack.json.text.length > 0) return ack.json.text;
    const post = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, `the answer to ${text}`);
    return String(post.body.text);
  }

  /** Bob asks; resolves with each admin's copy. */
  async function bobAsks(reason = 'I need the weekly reports') {
    const answer = await run('UBOB', `request ${reason}`);
    expect(answer).toContain('2 AccountAdmins have your request');
    const copies = await waitFor(
      () => {
        const both = ['UADMIN1', 'UADMIN2'].map((a) => t.standIn.dmsTo(a)[0]);
        return both.every(Boolean) ? (both as Call[]) : undefined;
      },
      5_000,
      'a copy for each admin',
    );
    const request = await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first();
    return { copies, requestId: String(request.id) };
  }

  function press(admin: string, action_id: string, requestId: string, copy?: Call) {
    return t.running.slack.blockAction(
      admin,
      { action_id, value: requestId },
      {},
      {
        container: { type: 'message', channel_id: String(copy?.params.channel ?? 'D0'), message_ts: '1.1' },
      },
    );
  }

  /** `admin` sends Deny's form for the request (as if opened from a copy), with `reason`. */
  function denyWithReason(admin: string, requestId: string, viewId: string, reason: string) {
    return t.running.slack.viewSubmission(admin, {
      id: viewId,
      callback_id: FORMS.denyRequest,
      private_metadata: requestId,
      values: { deny_reason: { deny_reason_text: { type: 'plain_text_input', value: reason } } },
    });
  }

  const member = (user: string) =>
    t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: user }).first();

  it('sends each admin a copy naming the person, with their reason and Approve/Deny; asking again says it is open', async () => {
    const { copies } = await bobAsks('I need the <weekly> reports');
    for (const copy of copies) {
      expect(String(copy.params.text)).toContain('<@UBOB> asks for access to *Acme Bees*');
      expect(String(copy.params.text)).toContain('I need the &lt;weekly&gt; reports');
      const blocks = JSON.stringify(copy.params.blocks);
      expect(blocks).toContain(BUTTONS.approveRequest);
      expect(blocks).toContain(BUTTONS.denyRequest);
    }
    expect(await run('UBOB', 'request')).toContain('You asked already');
    expect(await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' })).toHaveLength(1);
    expect(await run('UCAROL', 'request')).toContain('already a member');
  });

  it('approve: the person is an AccountUser, told once; every copy says who approved; a later press changes nothing', async () => {
    const { requestId, copies } = await bobAsks();
    await press('UADMIN1', BUTTONS.approveRequest, requestId, copies[0]);
    const approved = () =>
      t.standIn.callsTo('chat.update').filter((c) => String(c.params.text).includes("<@UBOB>'s access request"));
    await waitFor(() => approved().length === 2, 5_000, 'both copies changed');
    for (const update of approved()) {
      expect(String(update.params.text)).toContain("<@UBOB>'s access request: approved by <@UADMIN1>");
      expect(JSON.stringify(update.params.blocks)).not.toContain(BUTTONS.approveRequest);
    }
    expect(await member('UBOB')).toMatchObject({ role: 'AccountUser', status: 'active', invited_by: 'UADMIN1' });
    await waitFor(() => t.standIn.dmsTo('UBOB').length === 1, 5_000, 'Bob told');
    expect(String(t.standIn.dmsTo('UBOB')[0]?.params.text)).toContain('<@UADMIN1> approved your request');

    const before = t.standIn.responseUrlPosts.length;
    await press('UADMIN2', BUTTONS.denyRequest, requestId, copies[1]);
    const answer = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, 'the late press answered');
    expect(String(answer.body.text)).toBe('Already approved by <@UADMIN1>: nothing changed.');
    expect(t.standIn.dmsTo('UBOB')).toHaveLength(1);
    expect(
      await t.db.knex('audit_log').where({ action: 'member.registered', target_slack_user_id: 'UBOB' }),
    ).toHaveLength(1);
  });

  it('two admins deciding at the same moment (an Approve and a Deny sent): one decision, the person told once', async () => {
    const { requestId, copies } = await bobAsks();
    const since = t.standIn.calls.length;
    const before = t.standIn.responseUrlPosts.length;
    await Promise.all([
      press('UADMIN1', BUTTONS.approveRequest, requestId, copies[0]),
      denyWithReason('UADMIN2', requestId, 'V_RACE', 'Not this quarter'),
    ]);
    await waitFor(() => t.standIn.dmsTo('UBOB').length === 1, 5_000, 'Bob told');
    const decided0 = await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first();
    // The loser hears where they pressed: Approve's answer by response_url, Deny's in its form.
    const loserSaid = await waitFor(
      () =>
        decided0.status === 'denied'
          ? t.standIn.responseUrlPosts[before]?.body.text
          : t.standIn.calls
              .slice(since)
              .find((c) => c.method === 'views.update' && JSON.stringify(c.params).includes('Already'))?.params,
      5_000,
      'the loser answered',
    );
    expect(JSON.stringify(loserSaid)).toMatch(/Already (approved|denied) by <@UADMIN[12]>: nothing changed\./);
    const decided = await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first();
    expect(['approved', 'denied']).toContain(decided.status);
    expect(Boolean(await member('UBOB'))).toBe(decided.status === 'approved');
    // Both copies say what won (and nothing of this test is still on its way to the next).
    await waitFor(
      () =>
        t.standIn.callsTo('chat.update').filter((c) => String(c.params.text).includes(`${decided.status} by`))
          .length === 2,
      5_000,
      'both copies changed',
    );
    expect(t.standIn.dmsTo('UBOB')).toHaveLength(1);
  });

  it('deny: the person is told politely and the copies say so; an AccountUser pressing Approve is refused', async () => {
    const { requestId, copies } = await bobAsks();
    const before = t.standIn.responseUrlPosts.length;
    await press('UCAROL', BUTTONS.approveRequest, requestId, copies[0]);
    const refused = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, "Carol's refusal");
    expect(String(refused.body.text)).toMatch(/needs the AccountAdmin role/);
    expect((await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first()).status).toBe('open');

    // Deny asks for a reason first: nothing is decided by the press.
    const since = t.standIn.calls.length;
    await press('UADMIN2', BUTTONS.denyRequest, requestId, copies[1]);
    const form = await waitFor(
      () => t.standIn.calls.slice(since).find((c) => c.method === 'views.open'),
      5_000,
      'the reason form',
    );
    const view = form.params.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(view.callback_id).toBe(FORMS.denyRequest);
    expect(view.private_metadata).toBe(requestId);
    expect(JSON.stringify(view.blocks)).toContain("Deny <@UBOB>'s request");
    expect((await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first()).status).toBe('open');
    // An AccountUser cannot send the form either.
    await denyWithReason('UCAROL', requestId, 'V_CAROL', 'no');
    expect((await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first()).status).toBe('open');

    await denyWithReason('UADMIN2', requestId, 'V_DENY', 'Please ask <Dana> first');
    await waitFor(() => t.standIn.dmsTo('UBOB').length === 1, 5_000, 'Bob told');
    const told = String(t.standIn.dmsTo('UBOB')[0]?.params.text);
    expect(told).toContain('did not approve your request');
    expect(told).toContain('Please ask &lt;Dana&gt; first');
    const denied = () =>
      t.standIn.calls
        .slice(since)
        .filter((c) => c.method === 'chat.update' && String(c.params.text).includes('denied by <@UADMIN2>'));
    await waitFor(() => denied().length === 2, 5_000, 'both copies changed');
    const done = await waitFor(
      () =>
        t.standIn.calls
          .slice(since)
          .find((c) => c.method === 'views.update' && JSON.stringify(c.params).includes('Denied: <@UBOB> was told')),
      5_000,
      'the form says it is done',
    );
    expect(done.params.view_id).toBe('V_DENY');
    expect(await member('UBOB')).toBeUndefined();
    const audit = await t.db.knex('audit_log').where({ action: 'access.denied', target_slack_user_id: 'UBOB' });
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe('UADMIN2');
    // A Deny pressed after the decision opens no form: it says who decided.
    const opened = t.standIn.callsTo('views.open').length;
    const answered = t.standIn.responseUrlPosts.length;
    await press('UADMIN1', BUTTONS.denyRequest, requestId, copies[0]);
    const late = await waitFor(() => t.standIn.responseUrlPosts[answered], 5_000, 'the late Deny answered');
    expect(String(late.body.text)).toBe('Already denied by <@UADMIN2>: nothing changed.');
    expect(t.standIn.callsTo('views.open')).toHaveLength(opened);
    // Not again for 24 hours, and the answer says when.
    expect(await run('UBOB', 'request please')).toMatch(
      /did not approve your last request; you can ask again <!date\^/,
    );
    expect(await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' })).toHaveLength(1);
    // whoami says when, and offers no button that could only be refused.
    const whoami = await t.running.slack.command('UBOB', 'whoami');
    expect(String(whoami.json?.text)).toMatch(
      /did not approve your last request for access; you can ask again <!date\^/,
    );
    expect(JSON.stringify(whoami.json)).not.toContain(BUTTONS.requestAccess);
  });

  it('approving someone Slack deactivated since they asked registers nobody, and the request stays open', async () => {
    const { requestId, copies } = await bobAsks();
    t.standIn.addUser({ id: 'UBOB', deleted: true });
    try {
      const before = t.standIn.responseUrlPosts.length;
      await press('UADMIN1', BUTTONS.approveRequest, requestId, copies[0]);
      const answer = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, 'the refusal');
      expect(String(answer.body.text)).toMatch(/not an active member of the Slack workspace/);
      expect(await member('UBOB')).toBeUndefined();
      expect((await t.db.knex('access_requests').where({ slack_user_id: 'UBOB' }).first()).status).toBe('open');
    } finally {
      t.standIn.addUser({ id: 'UBOB' });
    }
  });

  it('whoami offers a non-member Request access, which asks like the command', async () => {
    const ack = await t.running.slack.command('UBOB', 'whoami');
    expect(JSON.stringify(ack.json?.blocks)).toContain(BUTTONS.requestAccess);
    expect(String(ack.json?.text)).toContain('or press *Request access*');
    const before = t.standIn.responseUrlPosts.length;
    await t.running.slack.blockAction('UBOB', { action_id: BUTTONS.requestAccess, value: 'request' });
    const answer = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, 'the answer');
    expect(String(answer.body.text)).toContain('2 AccountAdmins have your request');
    await waitFor(() => t.standIn.dmsTo('UADMIN1').length === 1, 5_000, "the admin's copy");
    // A member is not offered it.
    const carol = await t.running.slack.command('UCAROL', 'whoami');
    expect(JSON.stringify(carol.json ?? {})).not.toContain(BUTTONS.requestAccess);
  });
});
