// Pages of members by number start from the nearest anchor (every ANCHOR_EVERY-th member's key)
// while the anchors are of the account's members as they are now; any change of who is active,
// or of their order, leaves them unused until the job builds them again. Pages are always the
// members in name order, whichever way they were found.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/services/index.js';
import type { Jobs } from '../../src/services/jobs.js';
import { ANCHOR_EVERY, buildAnchors, listMembers } from '../../src/services/operations/list-members.js';
import type { Account } from '../../src/services/types.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { actor, insertMembers, makeServices, newAccount, TestClock } from '../support/fixtures.js';

const PAGE = 25;
const MEMBERS = 1_049; // with the admin: 1,050, 42 pages, anchors at 0, 200, … 1,000

describe.each(backends)('member page anchors on $name', (backend) => {
  let db: TestDatabase;
  let services: Services;
  let account: Account;
  let queued: Array<{ name: string; data: Record<string, string | number> }>;
  const admin = () => actor(account, 'UADMIN');

  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  beforeEach(async () => {
    queued = [];
    const jobs: Jobs = {
      async later(_db, name, data) {
        queued.push({ name, data });
      },
    };
    services = makeServices(db.knex, new TestClock(), undefined, undefined, { jobs });
    account = await newAccount(services);
    await services.members.bootstrapAdmins(account.id, [{ slackUserId: 'UADMIN', displayName: 'Ada Admin' }]);
    // Names out of id order, some alike, so that the order is the names' and then the ids'.
    await insertMembers(
      db.knex,
      account,
      Array.from({ length: MEMBERS }, (_, i) => ({
        slackUserId: `U${String((i * 7919) % 100_000).padStart(6, '0')}`,
        displayName: `Member ${String(i % 300).padStart(3, '0')}`,
      })),
    );
  });

  /** Every page by number, as the service shows it, and as the members are in order. */
  async function pagesAndTruth(): Promise<{ shown: string[][]; truth: string[][] }> {
    const ordered = await db
      .knex('members')
      .where({ account_id: account.id, status: 'active' })
      .orderBy([{ column: 'sort_name' }, { column: 'slack_user_id' }])
      .pluck('slack_user_id');
    const truth: string[][] = [];
    for (let i = 0; i < ordered.length; i += PAGE) truth.push(ordered.slice(i, i + PAGE));
    const shown: string[][] = [];
    for (let page = 1; page <= truth.length; page++) {
      const read = await listMembers(services, admin(), { limit: PAGE, page });
      if (!read.ok) throw new Error(read.reason);
      expect(read.page).toBe(page);
      shown.push(read.members.map((m) => m.slackUserId));
    }
    return { shown, truth };
  }

  const anchors = () =>
    db.knex('member_anchors').where({ account_id: account.id }).orderBy('position').select('version', 'position');

  it('asks for anchors once when a deep page is read without them, and builds every 200th key', async () => {
    await listMembers(services, admin(), { limit: PAGE, page: 30 });
    await listMembers(services, admin(), { limit: PAGE, page: 31 });
    expect(queued).toEqual([{ name: 'member-anchors', data: { accountId: account.id } }]);
    expect(await buildAnchors(services, account.id)).toBe(6);
    const built = await anchors();
    expect(built.map((a) => a.position)).toEqual([0, 200, 400, 600, 800, 1000]);
    // Current already: nothing more is built.
    expect(await buildAnchors(services, account.id)).toBe(0);
    expect(ANCHOR_EVERY).toBe(200);
  });

  it('shows the same pages with anchors as in order, and uses them while they are current', async () => {
    await buildAnchors(services, account.id);
    const { shown, truth } = await pagesAndTruth();
    expect(shown).toEqual(truth);
    // A wrong anchor of the current version would show: proof the pages start from anchors.
    const [moved] = await db
      .knex('members')
      .where({ account_id: account.id, status: 'active' })
      .orderBy([{ column: 'sort_name' }, { column: 'slack_user_id' }])
      .offset(450)
      .limit(1)
      .select('sort_name', 'slack_user_id');
    await db
      .knex('member_anchors')
      .where({ account_id: account.id, position: 400 })
      .update({ sort_name: moved.sort_name, slack_user_id: moved.slack_user_id });
    const page17 = await listMembers(services, admin(), { limit: PAGE, page: 17 }); // members 400–424
    expect(page17.ok && page17.members[0]?.slackUserId).toBe(truth[18]?.[0]); // 450
  });

  it('leaves anchors unused after a join, a removal and a rename, until they are built again', async () => {
    await buildAnchors(services, account.id);
    const [{ members_version: before }] = await db.knex('accounts').where({ id: account.id }).select('members_version');
    await insertMembers(db.knex, account, [{ slackUserId: 'UFIRST1', displayName: 'Aaron Early' }]);
    await db.knex('members').where({ account_id: account.id, slack_user_id: 'U007919' }).update({
      status: 'removed',
      removed_at: new Date(),
    });
    await db
      .knex('members')
      .where({ account_id: account.id, slack_user_id: 'U015838' })
      .update({ display_name: 'Zed Last', sort_name: 'zed last' });
    const [{ members_version: after }] = await db.knex('accounts').where({ id: account.id }).select('members_version');
    expect(Number(after)).toBe(Number(before) + 3);
    // A change that moves nothing does not move the version.
    await db.knex('members').where({ account_id: account.id, slack_user_id: 'U023757' }).update({ status: 'active' });
    const [{ members_version: same }] = await db.knex('accounts').where({ id: account.id }).select('members_version');
    expect(Number(same)).toBe(Number(after));
    const stale = await pagesAndTruth();
    expect(stale.shown).toEqual(stale.truth);
    expect(stale.shown[0]?.[0]).toBe('UFIRST1');
    expect(stale.shown.at(-1)?.at(-1)).toBe('U015838');
    // Built again for the new version: the old ones go, the pages are the same.
    await buildAnchors(services, account.id);
    expect(new Set((await anchors()).map((a) => Number(a.version)))).toEqual(new Set([Number(after)]));
    const fresh = await pagesAndTruth();
    expect(fresh.shown).toEqual(stale.truth);
  });
});
