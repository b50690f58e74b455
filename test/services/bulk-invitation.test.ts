// Inviting channels and user groups, as operations with Slack faked: the counts, the confirmed
// invitation's start (once), its work in parts (each person DMed once, across a crash too), Stop,
// and Revoke all. End to end: test/slack/bulk-invitation.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import type { Jobs } from '../../src/services/jobs.js';
import {
  cancelInvitation,
  progressOf,
  revokeAll,
  startInvitation,
  stopInvitation,
} from '../../src/services/operations/bulk-invitation.js';
import { ASK_ABOVE, countInvitation } from '../../src/services/operations/count-invitation.js';
import { runInvitation, SETTLE_MS } from '../../src/services/operations/run-invitation.js';
import { Pacer } from '../../src/services/pacer.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import {
  actor,
  FakeDirectory,
  insertMembers,
  makeServices,
  newAccount,
  RecordingNotifier,
  TestClock,
} from '../support/fixtures.js';

const people = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `U${prefix}${String(i).padStart(4, '0')}`);

describe.each(backends)('bulk invitations (operations) on $name', (backend) => {
  let db: TestDatabase;
  let services: Services;
  let notifier: RecordingNotifier;
  let directory: FakeDirectory;
  let account: Account;
  let clock: TestClock;
  const queued: Array<{ name: string; data: unknown }> = [];
  const jobs: Jobs = {
    async later(_db, name, data) {
      queued.push({ name, data });
    },
  };
  const fast = () => new Pacer({ start: 10_000, max: 10_000 });

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    queued.length = 0;
    notifier = new RecordingNotifier();
    directory = new FakeDirectory();
    clock = new TestClock();
    services = makeServices(db.knex, clock, undefined, directory, {
      notifier,
      jobs,
      inviteLimitPerDay: 3,
    });
    account = await newAccount(services);
    await insertMembers(db.knex, account, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin' },
      { slackUserId: 'UADMIN2', role: 'AccountAdmin' },
      { slackUserId: 'UCAROL', role: 'AccountUser' },
    ]);
  });

  const admin = () => actor(account, 'UADMIN1');

  /** A channel of `count` new people, counted and confirmed; returns the invitation's id. */
  async function counted(count: number, channel = 'CBIG') {
    directory.sources.set(channel, people(channel.slice(1), count));
    const outcome = await countInvitation(services, admin(), {
      sources: [{ kind: 'channel', id: channel }],
      users: [],
    });
    if (!outcome.ok || outcome.next.kind !== 'ask') throw new Error(JSON.stringify(outcome));
    return outcome.next.bulkId;
  }

  it('counts who is in the channels and groups once each, and why the others are not invited', async () => {
    directory.sources.set('CGENERAL', ['UADMIN1', 'UCAROL', 'UBOT', 'UGONE', 'UGUEST', 'UOUT', 'UNEW1', 'UPEND']);
    directory.sources.set('SSUPPORT', ['UNEW1', 'UNEW2', 'UGHOST']);
    directory.users.set('UBOT', { bot: true });
    directory.users.set('UGONE', { deleted: true });
    directory.users.set('UGUEST', { guest: true });
    directory.users.set('UOUT', { teamId: 'TOTHER', enterpriseId: null });
    directory.users.set('UGHOST', 'unknown');
    await services.invites.create(admin(), { forSlackUserId: 'UPEND' });
    const outcome = await countInvitation(services, admin(), {
      sources: [
        { kind: 'channel', id: 'CGENERAL' },
        { kind: 'usergroup', id: 'SSUPPORT' },
      ],
      users: ['UNAMED'],
    });
    expect(outcome).toEqual({
      ok: true,
      counts: {
        people: 11,
        toInvite: 3,
        skipped: { members: 2, pending: 1, guests: 1, bots: 1, deactivated: 1, other_org: 1, unknown: 1 },
      },
      next: { kind: 'now', users: expect.arrayContaining(['UNEW1', 'UNEW2', 'UNAMED']) },
    });
    // Few enough: nothing kept, nothing sent yet (the command invites them as `invite @a @b` does).
    expect(await db.knex('bulk_invitations').where({ account_id: account.id })).toHaveLength(0);
    expect(notifier.toldOneOfMany).toHaveLength(0);
  });

  it('refuses non-admins, and says which source it cannot read and why', async () => {
    expect(
      await countInvitation(services, actor(account, 'UCAROL'), {
        sources: [{ kind: 'channel', id: 'CX' }],
        users: [],
      }),
    ).toMatchObject({ ok: false, reason: 'not_admin' });
    expect(
      await countInvitation(services, admin(), { sources: [{ kind: 'channel', id: 'CPRIVATE' }], users: [] }),
    ).toEqual({ ok: false, reason: 'source_not_found', source: { kind: 'channel', id: 'CPRIVATE' } });
    directory.sources.set('SGROUP', 'missing_scope');
    expect(
      await countInvitation(services, admin(), { sources: [{ kind: 'usergroup', id: 'SGROUP' }], users: [] }),
    ).toMatchObject({ ok: false, reason: 'missing_scope' });
  });

  it(`keeps more than ${ASK_ABOVE} to invite for the admin to confirm; Invite starts it once, Cancel drops it`, async () => {
    const bulkId = await counted(ASK_ABOVE + 1);
    expect(await db.knex('bulk_invitees').where({ bulk_id: bulkId, state: 'pending' })).toHaveLength(ASK_ABOVE + 1);
    expect(await startInvitation(services, actor(account, 'UADMIN2'), { bulkId })).toMatchObject({
      reason: 'wrong_person',
    });
    expect(await startInvitation(services, actor(account, 'UCAROL'), { bulkId })).toMatchObject({
      reason: 'not_admin',
    });
    const started = await startInvitation(services, admin(), { bulkId });
    expect(started).toMatchObject({ ok: true, progress: { status: 'running', total: ASK_ABOVE + 1, sent: 0 } });
    // Its worker, and a watcher that takes over if the worker's process dies.
    expect(queued).toEqual([
      { name: 'bulk-invitation', data: { bulkId } },
      { name: 'bulk-invitation', data: { bulkId, watch: 1 } },
    ]);
    expect(notifier.to('UADMIN1')).toEqual([expect.objectContaining({ kind: 'bulk_progress' })]);
    expect(await startInvitation(services, admin(), { bulkId })).toMatchObject({ reason: 'bulk_not_counted' });
    expect(await cancelInvitation(services, admin(), { bulkId })).toMatchObject({ reason: 'bulk_not_counted' });
    // One at a time per account.
    const second = await counted(ASK_ABOVE + 2, 'COTHER');
    expect(await startInvitation(services, admin(), { bulkId: second })).toMatchObject({ reason: 'bulk_running' });
    expect(await cancelInvitation(services, admin(), { bulkId: second })).toEqual({ ok: true });
    expect(await db.knex('bulk_invitees').where({ bulk_id: second })).toHaveLength(0);
  });

  it('sends each person one invitation, in parts, and counts once against the admin’s daily cap', async () => {
    const bulkId = await counted(120);
    await startInvitation(services, admin(), { bulkId });
    const pacer = fast();
    let part = await runInvitation(services, { bulkId }, pacer, { partMs: 0 });
    // A part with no time left sends nothing and asks for the next.
    expect(part).toEqual({ ran: true, more: true, sent: 0 });
    part = await runInvitation(services, { bulkId }, pacer);
    expect(part).toEqual({ ran: true, more: false, sent: 120 });
    const to = notifier.toldOneOfMany.map((t) => t.to);
    expect(new Set(to).size).toBe(120);
    expect(to).toHaveLength(120);
    expect(await db.knex('invites').where({ bulk_id: bulkId })).toHaveLength(120);
    const progress = await progressOf(services, bulkId);
    expect(progress).toMatchObject({ status: 'done', sent: 120, total: 120, unused: 120, failed: {} });
    // The cap is 3 a day: the bulk counted once, so two more invitations fit, not a third.
    expect((await services.invites.allowance(admin()))?.left).toBe(2);
    expect(notifier.files).toHaveLength(0);
    // Done: another run does nothing.
    expect(await runInvitation(services, { bulkId }, pacer)).toEqual({ ran: false });
    // The progress message ended in place, as done.
    expect(notifier.updated.at(-1)?.notice).toMatchObject({ kind: 'bulk_progress', progress: { status: 'done' } });
  });

  it('after a crash, looks in the DM of whoever was being sent to: found is sent, absent is sent now, unsure is not sent', async () => {
    const bulkId = await counted(60);
    await startInvitation(services, admin(), { bulkId });
    const [a, b, c] = people('BIG', 3) as [string, string, string];
    for (const who of [a, b, c]) {
      const made = await services.invites.create(admin(), { forSlackUserId: who, bulkId });
      if (!made.ok) throw new Error(made.reason);
      await db
        .knex('bulk_invitees')
        .where({ bulk_id: bulkId, slack_user_id: who })
        .update({ state: 'sending', invite_id: made.invite.id, attempt_at: clock.now() });
    }
    notifier.inDm.set(a, 'found');
    notifier.inDm.set(b, 'absent');
    notifier.inDm.set(c, 'unknown');
    // The dead process's lease lapsed a while ago.
    await db
      .knex('bulk_invitations')
      .where({ id: bulkId })
      .update({ lease_until: new Date(0), leased_by: 'dead' });
    // Too soon after their attempts: a slow post may still land; the part sends the others and
    // asks to come back once they had time.
    const early = await runInvitation(services, { bulkId }, fast());
    expect(early).toMatchObject({
      ran: true,
      more: true,
      notBefore: new Date(clock.now().getTime() + SETTLE_MS + 1_000),
    });
    expect(notifier.toldOneOfMany.map((t) => t.to)).not.toContain(a);
    clock.advance(SETTLE_MS / 1000 + 1);
    const part = await runInvitation(services, { bulkId }, fast());
    expect(part).toMatchObject({ ran: true, more: false });
    const to = notifier.toldOneOfMany.map((t) => t.to);
    expect(to).not.toContain(a);
    expect(to.filter((x) => x === b)).toHaveLength(1);
    expect(to).not.toContain(c);
    expect(to).toHaveLength(58);
    const states = Object.fromEntries(
      (await db.knex('bulk_invitees').where({ bulk_id: bulkId }).whereIn('slack_user_id', [a, b, c])).map((r) => [
        r.slack_user_id,
        [r.state, r.reason],
      ]),
    );
    expect(states).toEqual({ [a]: ['sent', null], [b]: ['sent', null], [c]: ['failed', 'unsure'] });
    // Its invite was made once: the retry used the same one.
    expect(await db.knex('invites').where({ account_id: account.id, for_slack_user_id: b })).toHaveLength(1);
  });

  it('does not run while another process holds the lease; says until when', async () => {
    const bulkId = await counted(55);
    await startInvitation(services, admin(), { bulkId });
    const until = new Date(Date.now() + 60_000);
    await db.knex('bulk_invitations').where({ id: bulkId }).update({ lease_until: until, leased_by: 'other' });
    expect(await runInvitation(services, { bulkId }, fast())).toEqual({ ran: false, leasedUntil: until });
    expect(notifier.toldOneOfMany).toHaveLength(0);
  });

  it('a 429 puts the person back, to be sent once when Slack allows; other failures are counted by reason', async () => {
    const bulkId = await counted(52);
    await startInvitation(services, admin(), { bulkId });
    const [limited, blocked] = people('BIG', 2) as [string, string];
    let refusedOnce = false;
    const tell = notifier.tellOneOfMany.bind(notifier);
    notifier.tellOneOfMany = async (acc, who, notice) => {
      if (who === limited && !refusedOnce) {
        refusedOnce = true;
        return { ok: false, error: 'rate limited by Slack', retryAfterSeconds: 0 };
      }
      if (who === blocked) return { ok: false, error: 'cannot_dm_bot' };
      return tell(acc, who, notice);
    };
    const pacer = fast();
    await runInvitation(services, { bulkId }, pacer);
    expect(pacer.limited).toBe(1);
    expect(notifier.toldOneOfMany.filter((t) => t.to === limited)).toHaveLength(1);
    expect(await progressOf(services, bulkId)).toMatchObject({
      status: 'done',
      sent: 51,
      failed: { cannot_dm_bot: 1 },
    });
    // The admin gets the one not delivered, with their link, as a CSV in their DM.
    expect(notifier.files).toHaveLength(1);
    const [file] = notifier.files;
    expect(file?.to).toBe('UADMIN1');
    expect(file?.filename).toBe(`invitation-${bulkId}-not-delivered.csv`);
    const invite = await db.knex('invites').where({ bulk_id: bulkId, for_slack_user_id: blocked }).first();
    const link = services.links.url(
      await services.links.sign({ id: invite.id, expiresAt: new Date(invite.expires_at) }),
    );
    expect(file?.content).toBe(
      `\uFEFFslack_user_id,name,why,link,link_expires_utc\r\n${blocked},,cannot_dm_bot,${link},${new Date(invite.expires_at).toISOString()}\r\n`,
    );
  });

  it('Stop ends it at the next check; Revoke all then revokes its unused links, and only after it ended', async () => {
    const bulkId = await counted(300);
    await startInvitation(services, admin(), { bulkId });
    let sent = 0;
    const tell = notifier.tellOneOfMany.bind(notifier);
    notifier.tellOneOfMany = async (acc, who, notice) => {
      sent += 1;
      if (sent === 10) await stopInvitation(services, actor(account, 'UADMIN2'), { bulkId });
      // The next check is a second after the last: let it come.
      if (sent === 10) await new Promise((resolve) => setTimeout(resolve, 1_100));
      return tell(acc, who, notice);
    };
    expect(await revokeAll(services, admin(), { bulkId })).toMatchObject({ reason: 'bulk_running' });
    // 50 a second: the stop is seen long before the 300 are sent.
    const part = await runInvitation(services, { bulkId }, new Pacer({ start: 50, max: 50 }));
    expect(part).toMatchObject({ ran: true, more: false });
    const progress = await progressOf(services, bulkId);
    expect(progress?.status).toBe('stopped');
    expect(progress?.sent).toBeGreaterThanOrEqual(10);
    expect(progress?.sent).toBeLessThan(300);
    expect(await db.knex('audit_log').where({ action: 'invite.bulk_stopped', actor: 'UADMIN2' })).toHaveLength(1);
    // Invites made for people never sent theirs were revoked when it stopped: only sent ones work.
    const working = await db
      .knex('invites')
      .where({ bulk_id: bulkId })
      .whereNull('revoked_at')
      .pluck('for_slack_user_id');
    const sentTo = new Set(notifier.toldOneOfMany.map((t) => t.to));
    expect(working.every((u: string) => sentTo.has(u))).toBe(true);
    const made = working.length;
    expect(await revokeAll(services, actor(account, 'UCAROL'), { bulkId })).toMatchObject({ reason: 'not_admin' });
    expect(await revokeAll(services, admin(), { bulkId })).toEqual({ ok: true, revoked: made });
    expect(await db.knex('invites').where({ bulk_id: bulkId }).whereNull('revoked_at')).toHaveLength(0);
    expect((await progressOf(services, bulkId))?.unused).toBe(0);
  });

  it('stops when the admin who started it can no longer invite, and sends them no links', async () => {
    const bulkId = await counted(70);
    await startInvitation(services, admin(), { bulkId });
    notifier.failing.set(people('BIG', 1)[0] as string, 'cannot_dm_bot');
    await db
      .knex('members')
      .where({ account_id: account.id, slack_user_id: 'UADMIN1' })
      .update({ role: 'AccountUser' });
    const part = await runInvitation(services, { bulkId }, fast());
    expect(part).toMatchObject({ ran: true, more: false, sent: 0 });
    expect((await progressOf(services, bulkId))?.status).toBe('stopped');
    expect(notifier.files).toHaveLength(0);
  });

  it('someone invited by name since the counting keeps that invite and gets no second DM', async () => {
    const bulkId = await counted(60);
    await startInvitation(services, admin(), { bulkId });
    const [named] = people('BIG', 1) as [string];
    const byName = await services.invites.create(actor(account, 'UADMIN2'), { forSlackUserId: named });
    if (!byName.ok) throw new Error(byName.reason);
    await runInvitation(services, { bulkId }, fast());
    expect(notifier.toldOneOfMany.map((t) => t.to)).not.toContain(named);
    expect(notifier.toldOneOfMany).toHaveLength(59);
    const row = await db.knex('bulk_invitees').where({ bulk_id: bulkId, slack_user_id: named }).first();
    expect([row.state, row.reason]).toEqual(['failed', 'already_invited']);
    expect((await db.knex('invites').where({ id: byName.invite.id }).first()).revoked_at).toBeNull();
  });

  it('a process that lost its lease sends nothing more, and does not finish the invitation', async () => {
    const bulkId = await counted(200);
    await startInvitation(services, admin(), { bulkId });
    const tell = notifier.tellOneOfMany.bind(notifier);
    notifier.tellOneOfMany = async (acc, who, notice) => {
      // Another process took the lease (this one stalled past it).
      if (notifier.toldOneOfMany.length === 5) {
        await db
          .knex('bulk_invitations')
          .where({ id: bulkId })
          .update({ leased_by: 'other', lease_until: new Date(clock.now().getTime() + 60_000) });
      }
      return tell(acc, who, notice);
    };
    const part = await runInvitation(services, { bulkId }, new Pacer({ start: 200, max: 200 }));
    expect(part).toMatchObject({ ran: true, more: false });
    // At most the DMs already claimed when the lease went: never the rest.
    expect(notifier.toldOneOfMany.length).toBeLessThan(20);
    expect((await db.knex('bulk_invitations').where({ id: bulkId }).first()).status).toBe('running');
    expect(notifier.files).toHaveLength(0);
  });
});
