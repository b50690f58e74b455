// The invitation DM's Accept button, end to end: Slack signs the press and names who pressed it.
// The invited person joins without leaving Slack and the DM says so; anyone else is refused.
import { beforeEach, describe, expect, it } from 'vitest';
import { BUTTONS } from '../../src/slack/operations.js';
import { botUnderTest, resetAccount } from '../support/bot.js';
import { backends } from '../support/databases.js';
import { triggerId } from '../support/slack-requests.js';
import { type Call, TEAM_ID, waitFor } from '../support/slack-stand-in.js';

type Block = { type: string; elements?: Array<{ action_id?: string; value?: string; style?: string; url?: string }> };

function blocksOf(call: Call): Block[] {
  const blocks = call.params.blocks;
  return (typeof blocks === 'string' ? JSON.parse(blocks) : blocks) as Block[];
}

describe.each(backends)('accepting an invitation in Slack on $name', (backend) => {
  const t = botUnderTest(() => backend.open(), { users: ['UADMIN1', 'UBOB', 'UCAROL'] });
  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada' }]),
  );

  /** Invites Bob; returns his DM (its channel and ts, as Slack returned them) and its Accept button. */
  async function inviteBob() {
    await t.running.slack.command('UADMIN1', 'invite <@UBOB>');
    const dm = await waitFor(() => t.standIn.dmsTo('UBOB')[0], 5_000, "Bob's invitation");
    await waitFor(
      () => t.standIn.responseUrlPosts.some((p) => String(p.body.text).startsWith('*Invites:*')),
      5_000,
      "the admin's answer",
    );
    const buttons = blocksOf(dm).flatMap((b) => b.elements ?? []);
    const accept = buttons.find((e) => e.action_id === BUTTONS.acceptInvitation);
    return { channel: String(dm.params.channel), ts: String(dm.response?.ts ?? ''), accept, buttons };
  }

  /** `user` presses Accept in the DM at `channel`/`ts`. */
  function press(
    user: string,
    dm: { channel: string; ts: string; accept?: { value?: string } },
    trigger = triggerId(),
  ) {
    return t.running.slack.blockAction(
      user,
      { action_id: BUTTONS.acceptInvitation, value: dm.accept?.value ?? '' },
      {},
      {
        trigger_id: trigger,
        container: { type: 'message', channel_id: dm.channel, message_ts: dm.ts, is_ephemeral: false },
        channel: { id: dm.channel },
        message: { ts: dm.ts },
        user: { id: user, team_id: TEAM_ID, username: user.toLowerCase() },
      },
    );
  }

  /** The pressed DM changed to "You joined" (the queue's refresh of the DM comes too, later). */
  const joinedUpdates = () =>
    t.standIn.callsTo('chat.update').filter((c) => String(c.params.text).includes('You joined *Acme Bees*'));

  const member = (user: string) =>
    t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: user }).first();

  it('offers Accept (primary) beside the link', async () => {
    const { accept, buttons } = await inviteBob();
    expect(accept).toMatchObject({ style: 'primary' });
    const invite = await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).first();
    expect(accept?.value).toBe(invite.id);
    expect(buttons.some((b) => b.url?.startsWith('https://bees.example.test/register/'))).toBe(true);
  });

  it('makes the invited person a member, tells the inviter, and turns the DM into "you joined"', async () => {
    const dm = await inviteBob();
    expect((await press('UBOB', dm)).status).toBe(200);
    const updated = await waitFor(() => joinedUpdates()[0], 5_000, 'the DM updated');
    expect(updated.params).toMatchObject({ channel: dm.channel, ts: dm.ts });
    expect(String(updated.params.text)).toContain('You joined *Acme Bees* on ChatBees as an *AccountUser*');
    expect(JSON.stringify(updated.params.blocks)).not.toContain(BUTTONS.acceptInvitation);
    expect(await member('UBOB')).toMatchObject({ role: 'AccountUser', status: 'active', invited_by: 'UADMIN1' });
    await waitFor(
      () => t.standIn.dmsTo('UADMIN1').some((c) => String(c.params.text).includes('<@UBOB> accepted your invite')),
      5_000,
      'the inviter told',
    );
    const invite = await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).first();
    expect(invite.uses).toBe(1);
    const [entry] = await t.db.knex('audit_log').where({ action: 'member.registered' });
    expect(entry).toMatchObject({ actor: 'UBOB', source: 'invitation_dm', target_invite_id: invite.id });
    // The DM itself says they joined: no second "welcome" DM.
    expect(t.standIn.dmsTo('UBOB')).toHaveLength(1);
  });

  it('refuses anyone else who presses it (a forwarded message), changes nothing, and audits the attempt', async () => {
    const dm = await inviteBob();
    const before = t.standIn.responseUrlPosts.length;
    await press('UCAROL', dm);
    const answer = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, 'the ephemeral refusal');
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(answer.body.text)).toContain('made for someone else');
    expect(await member('UCAROL')).toBeUndefined();
    expect(t.standIn.callsTo('chat.update')).toHaveLength(0);
    const invite = await t.db.knex('invites').where({ for_slack_user_id: 'UBOB' }).first();
    expect(invite.uses).toBe(0);
    const refusal = await t.db.knex('audit_log').where({ action: 'access.refused', actor: 'UCAROL' }).first();
    expect(refusal.after).toEqual({ operation: 'register', reason: 'wrong_person' });
  });

  it('acts once on a press Slack delivers twice, and a second press changes nothing', async () => {
    const dm = await inviteBob();
    const trigger = triggerId();
    await Promise.all([press('UBOB', dm, trigger), press('UBOB', dm, trigger)]);
    await waitFor(() => joinedUpdates().length === 1, 5_000, 'one update');
    // A second press (a double click) reads as the first did, and registers nobody again.
    await press('UBOB', dm);
    await waitFor(() => joinedUpdates().length === 2, 5_000, 'the second press answered');
    expect(t.standIn.callsTo('chat.update').some((c) => String(c.params.text).includes('already a member'))).toBe(
      false,
    );
    expect(await t.db.knex('audit_log').where({ action: 'member.registered' })).toHaveLength(1);
  });

  it('refuses a revoked invitation with its reason', async () => {
    const dm = await inviteBob();
    // The invite's own answer may already be there: wait for the revocation's, which follows it.
    const answered = t.standIn.responseUrlPosts.length;
    await t.running.slack.command('UADMIN1', `revoke ${dm.accept?.value}`);
    await waitFor(
      () => t.standIn.responseUrlPosts.slice(answered).find((p) => /revoked/i.test(String(p.body.text))),
      15_000,
      'the revocation',
    );
    const before = t.standIn.responseUrlPosts.length;
    await press('UBOB', dm);
    const answer = await waitFor(() => t.standIn.responseUrlPosts[before], 5_000, 'the refusal');
    // The person's words for a revoked link (it used to read the admin's "Revoked invite …"
    // answer here when that one arrived late).
    expect(String(answer.body.text)).toMatch(/withdrawn by an AccountAdmin/i);
    expect(await member('UBOB')).toBeUndefined();
  });
});
