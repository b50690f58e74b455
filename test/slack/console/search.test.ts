// The admin console end to end, its search box: Enter narrows the members in place, paging keeps
// the search, "Show everyone" clears it, the modal's Search button does the same as Enter, and
// people who are not AccountAdmins are refused. The real bot over HTTP, its database on each
// backend, the Slack stand-in.
import type { InputBlock, ModalView, PlainTextInput } from '@slack/types';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  allText,
  blockById,
  blockText,
  button,
  consoleUnderTest,
  findButton,
  memberRows,
  type Shown,
  slackLimitProblems,
  textOf,
} from '../../support/console-views.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';
import { waitFor } from '../../support/slack-stand-in.js';
import { recordStatements } from '../../support/statements.js';

describe.each(backends)('admin console search on $name', (backend) => {
  const t = consoleUnderTest(backend);
  const { openConsole, pressAndUpdate, viewCall, servedFor, auditRows } = t;

  /** The search box's block: `search`, or `search_on` while a search is shown. */
  function searchBox(view: ModalView): InputBlock | undefined {
    const block = blockById(view, 'search_on') ?? blockById(view, 'search');
    return block?.type === 'input' ? (block as InputBlock) : undefined;
  }
  const boxElement = (view: ModalView) => searchBox(view)?.element as PlainTextInput | undefined;

  /** The body Slack sends when `text` is typed in the box of `shown` and Enter pressed. */
  function enterPayload(user: string, shown: Pick<Shown, 'id' | 'hash' | 'view'>, text: string | null) {
    const blockId = searchBox(shown.view)?.block_id ?? 'search';
    const action = { type: 'plain_text_input', action_id: 'console_search', block_id: blockId, value: text };
    return t.actionPayload(user, shown, action, {
      [blockId]: { console_search: { type: 'plain_text_input', value: text } },
    });
  }

  /** Types `text` in the box and presses Enter; resolves with the console that replaces it. */
  async function search(user: string, shown: Shown, text: string): Promise<Shown> {
    const since = t.standIn.calls.length;
    const res = await t.running.slack.interaction(enterPayload(user, shown, text));
    expect(res.status).toBe(200);
    const call = await viewCall('views.update', (c) => c.params.view_id === shown.id, since, 'update after search');
    const served = servedFor(call);
    if (!served) throw new Error('no view served');
    return { ...served, view: call.params.view as ModalView };
  }

  /** Submits the console (its Search button) with `typed` in the box; the answer's view. */
  async function submit(user: string, shown: Pick<Shown, 'id' | 'hash' | 'view'>, typed: string | null) {
    const blockId = searchBox(shown.view)?.block_id ?? 'search';
    const res = await t.running.slack.viewSubmission(user, {
      id: shown.id,
      hash: shown.hash,
      callback_id: 'admin_console',
      private_metadata: shown.view.private_metadata ?? '',
      values: { [blockId]: { console_search: { type: 'plain_text_input', value: typed } } },
    });
    expect(res.status).toBe(200);
    expect(res.json?.response_action).toBe('update');
    const view = res.json?.view as ModalView;
    expect(slackLimitProblems(view)).toEqual([]);
    return view;
  }

  const titleOf = (view: ModalView) => blockText(blockById(view, 'members_title'));
  const showEveryone = (view: ModalView) => findButton(view, 'members_title', 'console_search_clear');

  describe('searching', () => {
    beforeEach(async () => {
      await insertMembers(t.db.knex, t.running.account, [
        { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Ben Admin' },
        { slackUserId: 'UBOB', displayName: 'Bob' },
        { slackUserId: 'UM01', displayName: 'Bobby Tables' },
        { slackUserId: 'UCAROL', displayName: 'Carol' },
        { slackUserId: 'UM02', displayName: 'Dave' },
        { slackUserId: 'UM03', displayName: 'Admins Fan' },
      ]);
      const email = (id: string, value: string) =>
        t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: id }).update({ email: value });
      await email('UCAROL', 'carol.BOBSON@x.test');
      await email('UM02', 'dave@x.test');
    });

    it('has a search box that dispatches on Enter, and a Search button', async () => {
      const shown = await openConsole();
      const box = searchBox(shown.view);
      expect(box?.block_id).toBe('search');
      expect(box?.dispatch_action).toBe(true);
      expect(box?.optional).toBe(true);
      expect(boxElement(shown.view)).toMatchObject({
        type: 'plain_text_input',
        action_id: 'console_search',
        dispatch_action_config: { trigger_actions_on: ['on_enter_pressed'] },
      });
      expect(boxElement(shown.view)?.initial_value).toBeUndefined();
      expect(textOf(shown.view.submit)).toBe('Search');
      expect(showEveryone(shown.view)).toBeUndefined();
    });

    it('Enter shows only the members whose name or email contains the text, and "Show everyone"', async () => {
      const shown = await openConsole();
      expect(memberRows(shown.view)).toHaveLength(7);
      const found = await search('UADMIN1', shown, 'BOB');
      expect(found.id).toBe(shown.id);
      expect(found.view.callback_id).toBe('admin_console');
      // Bob, Bobby Tables, and Carol by her email; in name order.
      expect(memberRows(found.view)).toEqual(['UBOB', 'UM01', 'UCAROL']);
      expect(titleOf(found.view)).toContain('whose name or email contains “BOB” — 3 in all');
      expect(textOf(button(found.view, 'members_title', 'console_search_clear').text)).toBe('Show everyone');
      // The box keeps what was typed, in the block a search is shown with.
      expect(searchBox(found.view)?.block_id).toBe('search_on');
      expect(boxElement(found.view)?.initial_value).toBe('BOB');
      expect(blockById(found.view, 'paging')).toBeUndefined();
      expect(JSON.parse(found.view.private_metadata ?? '{}')).toEqual({ filter: { text: 'BOB' } });
    });

    it("keeps the account's member count in the summary while a search is shown", async () => {
      const shown = await openConsole();
      expect(blockText(blockById(shown.view, 'summary'))).toContain('· 7 members ·');
      const found = await search('UADMIN1', shown, 'bob');
      expect(memberRows(found.view)).toHaveLength(3);
      // The summary is about the account: it has 7 members, whatever the search shows.
      expect(blockText(blockById(found.view, 'summary'))).toContain('· 7 members ·');
    });

    it('says so when nobody matches, and still offers "Show everyone"', async () => {
      const found = await search('UADMIN1', await openConsole(), 'zzqx');
      expect(memberRows(found.view)).toEqual([]);
      expect(titleOf(found.view)).toContain('Nobody matches');
      expect(showEveryone(found.view)).toBeDefined();
    });

    it('"Show everyone" brings everyone back and empties the box (its block changes)', async () => {
      const found = await search('UADMIN1', await openConsole(), 'bob');
      const everyone = await pressAndUpdate('UADMIN1', found, 'members_title', 'console_search_clear');
      expect(memberRows(everyone.view)).toHaveLength(7);
      expect(showEveryone(everyone.view)).toBeUndefined();
      expect(titleOf(everyone.view)).toBe('*Members*');
      // A new block id: Slack drops what was typed in the old one.
      expect(searchBox(everyone.view)?.block_id).toBe('search');
      expect(blockById(everyone.view, 'search_on')).toBeUndefined();
      expect(boxElement(everyone.view)?.initial_value).toBeUndefined();
      expect(JSON.parse(everyone.view.private_metadata ?? '{}')).toEqual({});
    });

    it('"admins" and "users" in the box are the roles, not names', async () => {
      const shown = await openConsole();
      const admins = await search('UADMIN1', shown, 'admins');
      expect(memberRows(admins.view)).toEqual(['UADMIN1', 'UADMIN2']);
      expect(titleOf(admins.view)).toContain('AccountAdmins — 2 in all');
      expect(boxElement(admins.view)?.initial_value).toBe('admins');
      expect(showEveryone(admins.view)).toBeDefined();

      const users = await search('UADMIN1', admins, 'Users');
      expect(memberRows(users.view)).toEqual(['UM03', 'UBOB', 'UM01', 'UCAROL', 'UM02']);
      expect(titleOf(users.view)).toContain('AccountUsers — 5 in all');
      expect(boxElement(users.view)?.initial_value).toBe('users');
    });

    it('the Search button narrows the console as Enter does (response_action update)', async () => {
      const shown = await openConsole();
      const since = t.standIn.calls.length;
      const narrowed = await submit('UADMIN1', shown, 'carol');
      expect(narrowed.callback_id).toBe('admin_console');
      expect(memberRows(narrowed)).toEqual(['UCAROL']);
      expect(titleOf(narrowed)).toContain('whose name or email contains “carol” — 1 in all');
      expect(searchBox(narrowed)?.block_id).toBe('search_on');
      expect(JSON.parse(narrowed.private_metadata ?? '{}')).toEqual({ filter: { text: 'carol' } });
      // Answered in the response, not with views.update.
      expect(t.standIn.calls.slice(since).filter((c) => c.method.startsWith('views.'))).toEqual([]);

      // "admins" submitted is the role too.
      expect(memberRows(await submit('UADMIN1', shown, 'ADMINS'))).toEqual(['UADMIN1', 'UADMIN2']);

      // The box emptied (Slack sends null) or blank: everyone again.
      const withSearch = { id: shown.id, hash: shown.hash, view: narrowed };
      expect(memberRows(await submit('UADMIN1', withSearch, null))).toHaveLength(7);
      expect(memberRows(await submit('UADMIN1', shown, '   '))).toHaveLength(7);
    });

    it("sends the Search's reads together with the read of who asks, not after its answer", async () => {
      const shown = await openConsole();
      const recorded = recordStatements(t.db.knex);
      let narrowed: ModalView;
      try {
        narrowed = await submit('UADMIN1', shown, 'carol');
      } finally {
        recorded.stop();
      }
      expect(memberRows(narrowed)).toEqual(['UCAROL']);
      const whoAsks = recorded.statements.find((s) => s.name === 'resolve_actors');
      const search = recorded.statements.find((s) => s.text.includes('search_text LIKE'));
      const invites = recorded.statements.find((s) => s.name === 'invites_pending_and_requests');
      // The permission middleware's read, and the console's two: sent before the first answered
      // (one connection on PGlite: before the first was even sent).
      expect(whoAsks?.answered).toBeDefined();
      expect(search?.sent).toBeLessThan(whoAsks?.answered ?? 0);
      expect(invites?.sent).toBeLessThan(whoAsks?.answered ?? 0);
    });
  });

  describe('paging a search', () => {
    const bobs = Array.from({ length: 13 }, (_, i) => `UB${String(i + 1).padStart(2, '0')}`);
    beforeEach(async () => {
      await insertMembers(t.db.knex, t.running.account, [
        ...bobs.map((id, i) => ({ slackUserId: id, displayName: `Bob ${String(i + 1).padStart(2, '0')}` })),
        ...Array.from({ length: 6 }, (_, i) => ({ slackUserId: `UZ${i}`, displayName: `Zed ${i}` })),
      ]);
    });

    it('Next and Previous keep the search (CONSOLE_PAGE_SIZE is 10)', async () => {
      const page1 = await search('UADMIN1', await openConsole(), 'bob');
      expect(memberRows(page1.view)).toEqual(bobs.slice(0, 10));
      expect(titleOf(page1.view)).toContain('whose name or email contains “bob” — 13 in all');
      expect(findButton(page1.view, 'paging', 'console_previous_page')).toBeUndefined();

      const page2 = await pressAndUpdate('UADMIN1', page1, 'paging', 'console_next_page');
      expect(memberRows(page2.view)).toEqual(bobs.slice(10));
      expect(titleOf(page2.view)).toContain('whose name or email contains “bob” — 13 in all');
      expect(showEveryone(page2.view)).toBeDefined();
      expect(searchBox(page2.view)?.block_id).toBe('search_on');
      expect(boxElement(page2.view)?.initial_value).toBe('bob');
      expect(JSON.parse(page2.view.private_metadata ?? '{}').filter).toEqual({ text: 'bob' });
      expect(findButton(page2.view, 'paging', 'console_next_page')).toBeUndefined();

      const back = await pressAndUpdate('UADMIN1', page2, 'paging', 'console_previous_page');
      expect(memberRows(back.view)).toEqual(bobs.slice(0, 10));
      expect(titleOf(back.view)).toContain('“bob”');
      expect(findButton(back.view, 'paging', 'console_next_page')).toBeDefined();
    });

    it('a role in the box pages that role only', async () => {
      const users = await search('UADMIN1', await openConsole(), 'users');
      expect(titleOf(users.view)).toContain('AccountUsers — 19 in all');
      expect(memberRows(users.view)).toEqual(bobs.slice(0, 10));
      const next = await pressAndUpdate('UADMIN1', users, 'paging', 'console_next_page');
      expect(memberRows(next.view)).toEqual([...bobs.slice(10), 'UZ0', 'UZ1', 'UZ2', 'UZ3', 'UZ4', 'UZ5']);
      expect(titleOf(next.view)).toContain('AccountUsers — 19 in all');
      expect(memberRows(next.view)).not.toContain('UADMIN1');
    });
  });

  describe("Slack's limits", () => {
    it('a long search with Slack-special characters and a full page stays within them', async () => {
      // 100 characters, the most the box takes.
      const typed = '<&>*_~`'.repeat(15).slice(0, 100);
      await insertMembers(
        t.db.knex,
        t.running.account,
        Array.from({ length: 25 }, (_, i) => ({
          slackUserId: `UL${String(i).padStart(2, '0')}`,
          displayName: `${typed}${i} ${'x'.repeat(60)}`,
        })),
      );
      const shown = await openConsole();
      // Longer than the box allows (a forged action): taken to its first 100 characters.
      const found = await search('UADMIN1', shown, `${typed}${'y'.repeat(50)}`);
      expect(slackLimitProblems(found.view)).toEqual([]);
      expect(memberRows(found.view)).toHaveLength(10);
      expect(titleOf(found.view)).toContain('&lt;&amp;&gt;');
      expect(titleOf(found.view)).toContain('25 in all');
      expect(titleOf(found.view)).not.toContain('yyy');
      const next = await pressAndUpdate('UADMIN1', found, 'paging', 'console_next_page');
      expect(slackLimitProblems(next.view)).toEqual([]);
      expect(memberRows(next.view)).toHaveLength(10);
      expect(JSON.parse(next.view.private_metadata ?? '{}').filter.text).toBe(typed);
      const submitted = await submit('UADMIN1', next, typed);
      expect(memberRows(submitted)).toHaveLength(10);
    });
  });

  describe('people who are not AccountAdmins', () => {
    beforeEach(async () => {
      await insertMembers(t.db.knex, t.running.account, [
        { slackUserId: 'UBOB', displayName: 'Bob' },
        { slackUserId: 'UCAROL', displayName: 'Carol Secretname' },
      ]);
    });

    const forged: Pick<Shown, 'id' | 'hash' | 'view'> = {
      id: 'VFORGEDSEARCH',
      hash: 'forged',
      view: {
        type: 'modal',
        callback_id: 'admin_console',
        title: { type: 'plain_text', text: 'ChatBees users' },
        private_metadata: JSON.stringify({ filter: { text: 'carol' } }),
        blocks: [
          {
            type: 'input',
            block_id: 'search',
            dispatch_action: true,
            label: { type: 'plain_text', text: 'Find members' },
            element: { type: 'plain_text_input', action_id: 'console_search' },
          },
          {
            type: 'section',
            block_id: 'members_title',
            text: { type: 'mrkdwn', text: '*Members*' },
            accessory: {
              type: 'button',
              action_id: 'console_search_clear',
              text: { type: 'plain_text', text: 'Show everyone' },
            },
          },
          {
            type: 'actions',
            block_id: 'paging',
            elements: [{ type: 'button', action_id: 'console_next_page', text: { type: 'plain_text', text: 'Next' } }],
          },
        ],
      },
    };

    const refusalRow = (user: string, operation: string) =>
      waitFor(
        async () =>
          (await auditRows('access.refused')).find((r) => r.actor === user && r.after?.operation === operation),
        5_000,
        `access.refused for ${user}`,
      );

    it("refuses an AccountUser's forged search, showing nobody, and audits it", async () => {
      const since = t.standIn.calls.length;
      const res = await t.running.slack.interaction(enterPayload('UBOB', forged, 'carol'));
      expect(res.status).toBe(200);
      const call = await viewCall('views.update', (c) => c.params.view_id === forged.id, since, 'the refusal');
      const view = call.params.view as ModalView;
      expect(view.callback_id).not.toBe('admin_console');
      expect(memberRows(view)).toEqual([]);
      expect(allText(view)).toContain('Searching members needs the AccountAdmin role; you are an AccountUser');
      expect(allText(view)).not.toMatch(/carol|secretname|<@U/i);
      expect(await refusalRow('UBOB', 'members.find')).toMatchObject({
        source: 'console',
        after: { operation: 'members.find', reason: 'not_admin' },
      });
      // Nothing else was sent to Slack for it.
      expect(t.standIn.calls.slice(since).filter((c) => c.method !== 'views.update')).toEqual([]);
    });

    it("refuses an AccountUser's forged Search submission, showing nobody, and audits it", async () => {
      const view = await submit('UCAROL', forged, 'bob');
      expect(view.callback_id).not.toBe('admin_console');
      expect(memberRows(view)).toEqual([]);
      expect(allText(view)).toContain('Searching members needs the AccountAdmin role; you are an AccountUser');
      expect(allText(view)).not.toMatch(/<@UBOB>|\bBob\b/);
      expect(await refusalRow('UCAROL', 'members.find')).toMatchObject({
        source: 'console',
        after: { operation: 'members.find', reason: 'not_admin' },
      });
    });

    it('refuses a non-member\'s forged "Show everyone" and Next, and audits them', async () => {
      const cleared = await pressAndUpdate(
        'UNOBODY',
        { ...forged, id: 'VFORGED2' },
        'members_title',
        'console_search_clear',
      );
      expect(memberRows(cleared.view)).toEqual([]);
      expect(allText(cleared.view)).toContain('You are not registered in this ChatBees account');
      expect(allText(cleared.view)).not.toMatch(/carol|<@UBOB>/i);
      expect(await refusalRow('UNOBODY', 'members.find')).toMatchObject({
        source: 'console',
        after: { reason: 'not_member' },
      });
      // Paging with a forged search in private_metadata is refused as well.
      const paged = await pressAndUpdate('UBOB', { ...forged, id: 'VFORGED3' }, 'paging', 'console_next_page');
      expect(memberRows(paged.view)).toEqual([]);
      expect(allText(paged.view)).not.toMatch(/carol/i);
      expect(await refusalRow('UBOB', 'console.page')).toMatchObject({ after: { reason: 'not_admin' } });
    });
  });
});
