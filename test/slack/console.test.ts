// The admin console end to end: the real bot over HTTP, its database on each backend, and the
// Slack stand-in recording every view it is sent. Every view is checked against Slack's limits.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PUBLIC_URL, type RunningBot, resetAccount, startTestBot } from '../support/bot.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { insertMembers } from '../support/fixtures.js';
import { type SlackResponse, triggerId } from '../support/slack-requests.js';
import { type Call, SlackStandIn, TEAM_ID, waitFor } from '../support/slack-stand-in.js';

interface Text {
  type: string;
  text: string;
  emoji?: boolean;
}

interface Confirm {
  title?: Text;
  text?: Text;
  confirm?: Text;
  deny?: Text;
}

interface Element {
  type: string;
  action_id?: string;
  text?: Text | string;
  value?: string;
  url?: string;
  style?: string;
  confirm?: Confirm;
  placeholder?: Text;
  max_selected_items?: number;
}

interface Block {
  type: string;
  block_id?: string;
  text?: Text;
  fields?: Text[];
  accessory?: Element;
  elements?: Element[];
  element?: Element;
  label?: Text;
  hint?: Text;
}

interface View {
  type: string;
  callback_id?: string;
  title?: Text;
  submit?: Text;
  close?: Text;
  private_metadata?: string;
  blocks: Block[];
}

/** A view as Slack holds it after views.open/push/update: with its id and current hash. */
interface Shown {
  id: string;
  hash: string;
  view: View;
}

// --- Slack's limits for modals (api.slack.com/reference/surfaces/views, block-kit reference) ---

function textOf(value: Text | string | undefined): string {
  return typeof value === 'string' ? value : (value?.text ?? '');
}

function elementProblems(where: string, element: Element): string[] {
  const problems: string[] = [];
  if ((element.action_id ?? '').length > 255) problems.push(`${where}: action_id over 255`);
  if (element.type === 'button') {
    const text = textOf(element.text);
    if (!text) problems.push(`${where}: button without text`);
    if (text.length > 75) problems.push(`${where}: button text over 75 (${text.length})`);
    if ((element.value ?? '').length > 2000) problems.push(`${where}: button value over 2000`);
    if ((element.url ?? '').length > 3000) problems.push(`${where}: button url over 3000`);
  }
  if (element.placeholder && textOf(element.placeholder).length > 150) problems.push(`${where}: placeholder over 150`);
  const confirm = element.confirm;
  if (confirm) {
    if (textOf(confirm.title).length > 100) problems.push(`${where}: confirm title over 100`);
    if (textOf(confirm.text).length > 300) problems.push(`${where}: confirm text over 300`);
    if (textOf(confirm.confirm).length > 30) problems.push(`${where}: confirm button over 30`);
    if (textOf(confirm.deny).length > 30) problems.push(`${where}: deny button over 30`);
  }
  return problems;
}

/** Everything in `view` that Slack would refuse; empty when Slack would take it. */
function slackLimitProblems(view: View): string[] {
  const problems: string[] = [];
  if (view.type !== 'modal') problems.push(`type is ${view.type}, not modal`);
  if (!Array.isArray(view.blocks)) return [...problems, 'no blocks'];
  if (view.blocks.length > 100) problems.push(`${view.blocks.length} blocks (over 100)`);
  const title = textOf(view.title);
  if (!title) problems.push('no title');
  for (const [name, value] of [
    ['title', view.title],
    ['submit', view.submit],
    ['close', view.close],
  ] as const) {
    if (value && value.type !== 'plain_text') problems.push(`${name} is not plain_text`);
    if (textOf(value).length > 24) problems.push(`${name} "${textOf(value)}" over 24 characters`);
  }
  if (view.blocks.some((b) => b.type === 'input') && !view.submit) problems.push('input without submit');
  if ((view.callback_id ?? '').length > 255) problems.push('callback_id over 255');
  if ((view.private_metadata ?? '').length > 3000)
    problems.push(`private_metadata of ${view.private_metadata?.length} characters (over 3000)`);
  const blockIds = new Set<string>();
  view.blocks.forEach((block, i) => {
    const where = `block ${i} (${block.block_id ?? block.type})`;
    if (block.block_id !== undefined) {
      if (blockIds.has(block.block_id)) problems.push(`${where}: duplicate block_id`);
      blockIds.add(block.block_id);
      if (block.block_id.length > 255) problems.push(`${where}: block_id over 255`);
    }
    const actionIds = new Set<string>();
    const elements = [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])];
    if (block.element) elements.push(block.element);
    for (const element of elements) {
      if (element.action_id !== undefined) {
        if (actionIds.has(element.action_id)) problems.push(`${where}: duplicate action_id ${element.action_id}`);
        actionIds.add(element.action_id);
      }
    }
    switch (block.type) {
      case 'section': {
        const text = textOf(block.text);
        if (!text && !block.fields?.length) problems.push(`${where}: section without text`);
        if (text.length > 3000) problems.push(`${where}: section text of ${text.length} (over 3000)`);
        if ((block.fields?.length ?? 0) > 10) problems.push(`${where}: more than 10 fields`);
        for (const field of block.fields ?? [])
          if (textOf(field).length > 2000) problems.push(`${where}: field over 2000`);
        if (block.accessory) problems.push(...elementProblems(`${where} accessory`, block.accessory));
        break;
      }
      case 'actions':
        if (!block.elements?.length) problems.push(`${where}: actions block without elements`);
        if ((block.elements?.length ?? 0) > 25) problems.push(`${where}: ${block.elements?.length} elements (over 25)`);
        block.elements?.forEach((e, j) => {
          problems.push(...elementProblems(`${where} element ${j}`, e));
        });
        break;
      case 'context':
        if ((block.elements?.length ?? 0) > 10) problems.push(`${where}: context over 10 elements`);
        for (const e of block.elements ?? [])
          if (textOf(e.text).length > 3000) problems.push(`${where}: context text over 3000`);
        break;
      case 'input':
        if (!textOf(block.label)) problems.push(`${where}: input without label`);
        if (textOf(block.label).length > 2000) problems.push(`${where}: label over 2000`);
        if (textOf(block.hint).length > 2000) problems.push(`${where}: hint over 2000`);
        if (!block.element) problems.push(`${where}: input without element`);
        else problems.push(...elementProblems(`${where} element`, block.element));
        break;
      case 'divider':
      case 'header':
        break;
      default:
        problems.push(`${where}: unexpected block type ${block.type}`);
    }
  });
  return problems;
}

const VIEW_METHODS = ['views.open', 'views.update', 'views.push'];

/** Every view the bot sent to Slack, checked against Slack's limits. */
function expectViewsWithinSlackLimits(standIn: SlackStandIn): number {
  const sent = standIn.calls.filter((c) => VIEW_METHODS.includes(c.method));
  for (const [i, call] of sent.entries()) {
    expect(slackLimitProblems(call.params.view as View), `${call.method} #${i}`).toEqual([]);
  }
  return sent.length;
}

// --- Reading views ---

function blockTexts(view: View): string[] {
  const texts: string[] = [];
  for (const block of view.blocks) {
    if (block.text) texts.push(textOf(block.text));
    for (const field of block.fields ?? []) texts.push(textOf(field));
    if (block.type === 'context') for (const e of block.elements ?? []) texts.push(textOf(e.text));
  }
  return texts;
}

function allText(view: View): string {
  return blockTexts(view).join('\n');
}

function noticeOf(view: View): string {
  const block = view.blocks.find((b) => b.block_id === 'notice');
  return textOf(block?.elements?.[0]?.text);
}

function memberRows(view: View): string[] {
  return view.blocks.filter((b) => b.block_id?.startsWith('member:')).map((b) => b.block_id?.slice(7) ?? '');
}

function memberRow(view: View, user: string): string {
  return textOf(view.blocks.find((b) => b.block_id === `member:${user}`)?.text);
}

function findButton(view: View, blockId: string, actionId: string): Element | undefined {
  const block = view.blocks.find((b) => b.block_id === blockId);
  if (block?.accessory?.action_id === actionId) return block.accessory;
  return block?.elements?.find((e) => e.action_id === actionId);
}

function button(view: View, blockId: string, actionId: string): Element {
  const found = findButton(view, blockId, actionId);
  if (!found) throw new Error(`no button ${actionId} in block ${blockId}`);
  return found;
}

const ids = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(2, '0')}`);

describe('the Slack limit checker', () => {
  const ok: View = {
    type: 'modal',
    callback_id: 'admin_console',
    title: { type: 'plain_text', text: 'ChatBees users' },
    close: { type: 'plain_text', text: 'Close' },
    private_metadata: '{}',
    blocks: [
      { type: 'section', block_id: 'a', text: { type: 'mrkdwn', text: 'hello' } },
      {
        type: 'actions',
        block_id: 'b',
        elements: [{ type: 'button', action_id: 'x', text: { type: 'plain_text', text: 'Go' }, value: 'v' }],
      },
    ],
  };

  it('passes a view Slack takes', () => {
    expect(slackLimitProblems(ok)).toEqual([]);
  });

  it.each<[string, (view: View) => void]>([
    ['101 blocks', (v) => v.blocks.push(...Array.from({ length: 99 }, () => ({ type: 'divider' })))],
    ['a 25-character title', (v) => Object.assign(v, { title: { type: 'plain_text', text: 'x'.repeat(25) } })],
    ['a 25-character close', (v) => Object.assign(v, { close: { type: 'plain_text', text: 'x'.repeat(25) } })],
    ['a 25-character submit', (v) => Object.assign(v, { submit: { type: 'plain_text', text: 'x'.repeat(25) } })],
    ['duplicate block ids', (v) => v.blocks.push({ type: 'divider', block_id: 'a' })],
    ['3001 characters of private_metadata', (v) => Object.assign(v, { private_metadata: 'x'.repeat(3001) })],
    [
      'a 76-character button',
      (v) => Object.assign(v.blocks[1]?.elements?.[0] ?? {}, { text: { type: 'plain_text', text: 'x'.repeat(76) } }),
    ],
    [
      'a 3001-character section',
      (v) => Object.assign(v.blocks[0] ?? {}, { text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }),
    ],
    [
      '26 elements in an actions block',
      (v) =>
        v.blocks.push({
          type: 'actions',
          block_id: 'many',
          elements: Array.from({ length: 26 }, (_, i) => ({
            type: 'button',
            action_id: `b${i}`,
            text: { type: 'plain_text', text: 'x' },
          })),
        }),
    ],
  ])('flags %s', (_what, breakIt) => {
    const view = structuredClone(ok);
    breakIt(view);
    expect(slackLimitProblems(view)).not.toEqual([]);
  });
});

describe.each(backends)('admin console on $name', (backend) => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let running: RunningBot;
  /** What the stand-in answered to each views.* call, by the call's params object. */
  const served = new WeakMap<object, { id: string; hash: string }>();
  let viewSeq = 0;
  /** Answers views.open/push/update like Slack, remembering the id and hash it gave. */
  const serveView = (params: Record<string, unknown>) => {
    viewSeq += 1;
    const id = typeof params.view_id === 'string' ? params.view_id : `VTEST${viewSeq}`;
    const hash = `${viewSeq}.hash`;
    served.set(params, { id, hash });
    return { view: { ...(params.view as object), id, hash } };
  };

  beforeAll(async () => {
    db = await backend.open();
    standIn = await new SlackStandIn().start();
    for (const method of VIEW_METHODS) standIn.on(method, serveView);
    for (const id of ['UADMIN1', 'UADMIN2', 'UBOB', 'UCAROL', 'UNEW1', 'UNEW2']) standIn.addUser({ id });
    standIn.addUser({ id: 'UBOTX', is_bot: true, name: 'helper-bot' });
    running = await startTestBot({ db, standIn, env: { INITIAL_ADMINS: 'UADMIN1' } });
  });

  afterAll(async () => {
    await running?.stop();
    await standIn?.stop();
    await db?.close();
  });

  beforeEach(() =>
    resetAccount(running, db, standIn, [{ slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada Admin' }]),
  );

  afterEach(() => {
    vi.restoreAllMocks();
    expectViewsWithinSlackLimits(standIn);
  });

  // --- Helpers talking to the bot ---

  function shownBy(call: Call): Shown {
    const answer = served.get(call.params);
    if (!answer) throw new Error(`no view served for ${call.method}`);
    return { ...answer, view: call.params.view as View };
  }

  async function viewCall(method: string, match: (call: Call) => boolean, since: number, what: string) {
    return waitFor(() => standIn.calls.slice(since).find((c) => c.method === method && match(c)), 5_000, what);
  }

  /** `/chatbees-users` with no text, as `user`; resolves with the console Slack shows. */
  async function openConsole(user = 'UADMIN1'): Promise<Shown> {
    const since = standIn.calls.length;
    const trigger = triggerId();
    const res = await running.slack.command(user, '', { trigger_id: trigger });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const call = await viewCall('views.open', (c) => c.params.trigger_id === trigger, since, 'views.open');
    return shownBy(call);
  }

  async function press(
    user: string,
    shown: Shown,
    blockId: string,
    actionId: string,
    overrides: Record<string, unknown> = {},
  ): Promise<SlackResponse> {
    const element = button(shown.view, blockId, actionId);
    const res = await running.slack.blockAction(
      user,
      { action_id: actionId, value: element.value, block_id: blockId },
      {
        view: {
          id: shown.id,
          hash: shown.hash,
          private_metadata: shown.view.private_metadata ?? '',
          callback_id: shown.view.callback_id ?? '',
        },
      },
      overrides,
    );
    expect(res.status).toBe(200);
    return res;
  }

  /** Presses a button in `shown` and resolves with the view that replaces it (views.update). */
  async function pressAndUpdate(user: string, shown: Shown, blockId: string, actionId: string): Promise<Shown> {
    const since = standIn.calls.length;
    await press(user, shown, blockId, actionId);
    const call = await viewCall(
      'views.update',
      (c) => c.params.view_id === shown.id,
      since,
      `update after ${actionId}`,
    );
    return shownBy(call);
  }

  /** The body Slack sends for a press of that button: built once, so it can be delivered twice. */
  function buttonPayload(user: string, shown: Shown, blockId: string, actionId: string): Record<string, unknown> {
    const element = button(shown.view, blockId, actionId);
    return {
      type: 'block_actions',
      user: { id: user, team_id: TEAM_ID, username: user.toLowerCase() },
      api_app_id: 'A0APP',
      team: { id: TEAM_ID, domain: 'acme' },
      trigger_id: triggerId(),
      container: { type: 'view', view_id: shown.id },
      view: {
        id: shown.id,
        type: 'modal',
        hash: shown.hash,
        callback_id: shown.view.callback_id,
        private_metadata: shown.view.private_metadata ?? '',
        root_view_id: shown.id,
        state: { values: {} },
      },
      actions: [{ type: 'button', action_id: actionId, block_id: blockId, value: element.value, action_ts: '1' }],
    };
  }

  async function openInviteForm(user: string, adminConsole: Shown): Promise<Shown> {
    const since = standIn.calls.length;
    const trigger = triggerId();
    await press(user, adminConsole, 'console_actions', 'console_open_invite_form', { trigger_id: trigger });
    return shownBy(await viewCall('views.push', (c) => c.params.trigger_id === trigger, since, 'views.push'));
  }

  function submitInvites(user: string, form: Shown, people: string[], rootViewId: string) {
    return running.slack.viewSubmission(user, {
      id: form.id,
      hash: form.hash,
      callback_id: 'invite_people',
      root_view_id: rootViewId,
      values: { invitees: { invitees_select: { type: 'multi_users_select', selected_users: people } } },
    });
  }

  /** The outcome shown in the form, once the console underneath has been refreshed too. */
  async function inviteOutcome(
    form: Shown,
    adminConsole: Shown,
    since: number,
  ): Promise<{ outcome: Shown; root: Shown }> {
    const outcome = await viewCall('views.update', (c) => c.params.view_id === form.id, since, 'invite outcome');
    const root = await viewCall('views.update', (c) => c.params.view_id === adminConsole.id, since, 'console refresh');
    return { outcome: shownBy(outcome), root: shownBy(root) };
  }

  const memberOf = (user: string) =>
    db.knex('members').where({ account_id: running.account.id, slack_user_id: user }).first();
  const auditRows = (action: string) =>
    db.knex('audit_log').where({ account_id: running.account.id, action }).orderBy('id');
  const pendingInvitesFor = (user: string) =>
    db.knex('invites').where({ for_slack_user_id: user }).whereNull('revoked_at').pluck('id');

  /** The audit key of each operation a refusal names (src/slack/operations.ts). */
  const AUDIT_KEY: Record<string, string> = {
    'Removing members': 'members.remove',
    'Inviting people': 'invites.send',
    'Paging the console': 'console.page',
    'Changing roles': 'members.change_role',
    'Revoking invites': 'invites.revoke',
  };

  async function expectRefusalAudited(user: string, label: string, reason = 'not_admin') {
    const operation = AUDIT_KEY[label];
    const row = await waitFor(
      async () => (await auditRows('access.refused')).find((r) => r.actor === user && r.after?.operation === operation),
      5_000,
      `access.refused for ${label}`,
    );
    expect(row).toMatchObject({ source: 'console', after: { operation, reason } });
  }

  /** A DM's registration link: the URL of its button (the same URL is in its text). */
  function registrationLinkIn(dm: Call): string {
    const blocks = dm.params.blocks as Block[];
    const url = blocks.flatMap((b) => b.elements ?? []).find((e) => e.url)?.url ?? '';
    expect(String(dm.params.text)).toContain(url);
    return url;
  }

  async function expectLinkFor(url: string, user: string) {
    expect(url.startsWith(`${PUBLIC_URL}/register/`)).toBe(true);
    const inspected = await running.bot.services.invites.inspect(url.slice(`${PUBLIC_URL}/register/`.length));
    expect(inspected.ok).toBe(true);
    expect(inspected.ok && inspected.invite.forSlackUserId).toBe(user);
  }

  // --- 1. Opening and paging ---

  describe('opening and paging', () => {
    it('acks the command empty, then opens the console with the trigger_id, members and their roles', async () => {
      await insertMembers(db.knex, running.account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
      const shown = await openConsole();
      expect(standIn.callsTo('views.open')).toHaveLength(1);
      expect(shown.view).toMatchObject({ type: 'modal', callback_id: 'admin_console' });
      expect(memberRows(shown.view)).toEqual(['UADMIN1', 'UBOB']);
      expect(memberRow(shown.view, 'UADMIN1')).toContain('<@UADMIN1>');
      expect(memberRow(shown.view, 'UADMIN1')).toContain('*AccountAdmin*');
      expect(memberRow(shown.view, 'UBOB')).toContain('<@UBOB>');
      expect(memberRow(shown.view, 'UBOB')).toContain('*AccountUser*');
      expect(allText(shown.view)).toContain('2 members');
      // Each member has a role button offering the other role, and a Remove button.
      expect(textOf(button(shown.view, 'member_actions:UBOB', 'member_set_role').text)).toBe('Make AccountAdmin');
      expect(textOf(button(shown.view, 'member_actions:UADMIN1', 'member_set_role').text)).toBe('Make AccountUser');
      expect(textOf(button(shown.view, 'member_actions:UBOB', 'member_remove').text)).toBe('Remove');
      for (const action of ['member_set_role', 'member_remove'])
        expect(button(shown.view, 'member_actions:UBOB', action).confirm).toBeDefined();
      // Few members: no paging.
      expect(findButton(shown.view, 'paging', 'console_next_page')).toBeUndefined();
      expect(findButton(shown.view, 'paging', 'console_previous_page')).toBeUndefined();
    });

    it('pages 25 members ten at a time with Next and Previous, updating the same view', async () => {
      // "Ada Admin" sorts first, then Member 01 … Member 24.
      const others = ids('UM', 1, 24);
      await insertMembers(
        db.knex,
        running.account,
        others.map((id, i) => ({ slackUserId: id, displayName: `Member ${String(i + 1).padStart(2, '0')}` })),
      );
      const first = await openConsole();
      expect(allText(first.view)).toContain('25 members');
      expect(memberRows(first.view)).toEqual(['UADMIN1', ...ids('UM', 1, 9)]);
      expect(findButton(first.view, 'paging', 'console_previous_page')).toBeUndefined();

      const second = await pressAndUpdate('UADMIN1', first, 'paging', 'console_next_page');
      expect(second.id).toBe(first.id);
      expect(second.view.callback_id).toBe('admin_console');
      expect(memberRows(second.view)).toEqual(ids('UM', 10, 19));
      expect(findButton(second.view, 'paging', 'console_previous_page')).toBeDefined();

      const third = await pressAndUpdate('UADMIN1', second, 'paging', 'console_next_page');
      expect(memberRows(third.view)).toEqual(ids('UM', 20, 24));
      expect(findButton(third.view, 'paging', 'console_next_page')).toBeUndefined();

      const backToSecond = await pressAndUpdate('UADMIN1', third, 'paging', 'console_previous_page');
      expect(memberRows(backToSecond.view)).toEqual(ids('UM', 10, 19));
      const backToFirst = await pressAndUpdate('UADMIN1', backToSecond, 'paging', 'console_previous_page');
      expect(memberRows(backToFirst.view)).toEqual(['UADMIN1', ...ids('UM', 1, 9)]);
      expect(findButton(backToFirst.view, 'paging', 'console_previous_page')).toBeUndefined();
      expect(findButton(backToFirst.view, 'paging', 'console_next_page')).toBeDefined();

      expect(standIn.callsTo('views.open')).toHaveLength(1);
      expect(standIn.callsTo('views.update').map((c) => c.params.view_id)).toEqual(Array(4).fill(first.id));
      expect(expectViewsWithinSlackLimits(standIn)).toBe(5);
    });

    it('answers through response_url when Slack refuses to open the console', async () => {
      standIn.fail('views.open', { error: 'expired_trigger_id' });
      const res = await running.slack.command('UADMIN1', '');
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      const post = await waitFor(() => standIn.responseUrlPosts[0], 5_000, 'response_url post');
      expect(post.body.response_type).toBe('ephemeral');
      expect(String(post.body.text)).toContain('could not open the console (expired_trigger_id)');
    });

    it('keeps the page it is on when a change re-renders it', async () => {
      const others = ids('UM', 1, 24);
      await insertMembers(
        db.knex,
        running.account,
        others.map((id, i) => ({ slackUserId: id, displayName: `Member ${String(i + 1).padStart(2, '0')}` })),
      );
      const second = await pressAndUpdate('UADMIN1', await openConsole(), 'paging', 'console_next_page');
      const after = await pressAndUpdate('UADMIN1', second, 'member_actions:UM12', 'member_set_role');
      expect(noticeOf(after.view)).toContain('<@UM12> is now an *AccountAdmin*');
      expect(memberRows(after.view)).toEqual(ids('UM', 10, 19));
      expect(memberRow(after.view, 'UM12')).toContain('*AccountAdmin*');
    });

    it('stays within Slack limits when the console is at its fullest', async () => {
      await insertMembers(
        db.knex,
        running.account,
        ids('UM', 1, 40).map((id) => ({ slackUserId: id, displayName: `${'Long name '.repeat(20)}${id}` })),
      );
      const admin = { accountId: running.account.id, slackUserId: 'UADMIN1', source: 'console' as const };
      for (const id of ids('UINV', 1, 12)) {
        const made = await running.bot.services.invites.create(admin, { forSlackUserId: id, forDisplayName: id });
        expect(made.ok).toBe(true);
      }
      const first = await openConsole();
      expect(first.view.blocks.filter((b) => b.block_id?.startsWith('invite:'))).toHaveLength(10);
      expect(first.view.blocks.some((b) => b.block_id === 'invites_more')).toBe(true);
      const second = await pressAndUpdate('UADMIN1', first, 'paging', 'console_next_page');
      const firstInvite = first.view.blocks.find((b) => b.block_id?.startsWith('invite:'))?.block_id ?? '';
      const revoked = await pressAndUpdate('UADMIN1', second, firstInvite, 'invite_revoke');
      expect(noticeOf(revoked.view)).toContain('Revoked invite');
      expect(expectViewsWithinSlackLimits(standIn)).toBe(3);
    });
  });

  // --- 2. Pending invites ---

  describe('pending invites', () => {
    it('lists pending invites with their ids; Revoke revokes one and re-renders with a notice', async () => {
      const admin = { accountId: running.account.id, slackUserId: 'UADMIN1', source: 'console' as const };
      const one = await running.bot.services.invites.create(admin, { forSlackUserId: 'UNEW1' });
      const two = await running.bot.services.invites.create(admin, { forSlackUserId: 'UNEW2' });
      if (!one.ok || !two.ok) throw new Error('invites not created');
      const shown = await openConsole();
      for (const [invite, user] of [
        [one.invite, 'UNEW1'],
        [two.invite, 'UNEW2'],
      ] as const) {
        const block = shown.view.blocks.find((b) => b.block_id === `invite:${invite.id}`);
        expect(textOf(block?.text)).toContain(`\`${invite.id}\``);
        expect(textOf(block?.text)).toContain(`<@${user}>`);
        const revoke = button(shown.view, `invite:${invite.id}`, 'invite_revoke');
        expect(textOf(revoke.text)).toBe('Revoke');
        expect(revoke.value).toBe(invite.id);
        expect(revoke.confirm).toBeDefined();
      }

      const after = await pressAndUpdate('UADMIN1', shown, `invite:${one.invite.id}`, 'invite_revoke');
      expect(after.view.callback_id).toBe('admin_console');
      // Worded as the command words it: whose invite it was, and that the link no longer works.
      expect(noticeOf(after.view)).toContain(
        `Revoked invite \`${one.invite.id}\` for <@${one.invite.forSlackUserId}>: the link no longer works.`,
      );
      expect(after.view.blocks.some((b) => b.block_id === `invite:${one.invite.id}`)).toBe(false);
      expect(after.view.blocks.some((b) => b.block_id === `invite:${two.invite.id}`)).toBe(true);
      const row = await db.knex('invites').where({ id: one.invite.id }).first();
      expect(row).toMatchObject({ revoke_reason: 'revoked', revoked_by: 'UADMIN1' });
      expect(row.revoked_at).not.toBeNull();
      expect(await pendingInvitesFor('UNEW2')).toEqual([two.invite.id]);
      expect(await auditRows('invite.revoked')).toEqual([
        expect.objectContaining({ actor: 'UADMIN1', target_invite_id: one.invite.id, source: 'console' }),
      ]);
    });

    it('says "None" when nothing is pending', async () => {
      const shown = await openConsole();
      expect(textOf(shown.view.blocks.find((b) => b.block_id === 'invites_title')?.text)).toContain('None.');
    });
  });

  // --- 3. Role changes and removal ---

  describe('changing roles and removing members', () => {
    beforeEach(async () => {
      await insertMembers(db.knex, running.account, [
        { slackUserId: 'UBOB', displayName: 'Bob' },
        { slackUserId: 'UCAROL', displayName: 'Carol' },
      ]);
    });

    it('"Make AccountAdmin" promotes the member, DMs them and updates the console with a notice', async () => {
      const shown = await openConsole();
      const promote = button(shown.view, 'member_actions:UBOB', 'member_set_role');
      expect(textOf(promote.text)).toBe('Make AccountAdmin');
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UBOB', 'member_set_role');

      expect((await memberOf('UBOB')).role).toBe('AccountAdmin');
      const dms = standIn.dmsTo('UBOB');
      expect(dms).toHaveLength(1);
      expect(String(dms[0]?.params.text)).toContain('<@UADMIN1> made you an *AccountAdmin*');
      expect(after.view.callback_id).toBe('admin_console');
      expect(noticeOf(after.view)).toContain('<@UBOB> is now an *AccountAdmin*');
      expect(noticeOf(after.view)).toContain('I told them by DM');
      expect(memberRow(after.view, 'UBOB')).toContain('*AccountAdmin*');
      expect(textOf(button(after.view, 'member_actions:UBOB', 'member_set_role').text)).toBe('Make AccountUser');
      expect(await auditRows('member.role_changed')).toEqual([
        expect.objectContaining({ actor: 'UADMIN1', target_slack_user_id: 'UBOB', source: 'console' }),
      ]);
    });

    it('"Remove" soft-deletes the member, DMs them and updates the console', async () => {
      const shown = await openConsole();
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UCAROL', 'member_remove');

      const carol = await memberOf('UCAROL');
      expect(carol).toMatchObject({ status: 'removed', removed_by: 'UADMIN1' });
      expect(carol.removed_at).not.toBeNull();
      const dms = standIn.dmsTo('UCAROL');
      expect(dms).toHaveLength(1);
      expect(String(dms[0]?.params.text)).toContain('removed you');
      expect(noticeOf(after.view)).toContain('Removed <@UCAROL>');
      expect(memberRows(after.view)).toEqual(['UADMIN1', 'UBOB']);
      expect(allText(after.view)).toContain('2 members');
      expect(standIn.dmsTo('UBOB')).toHaveLength(0);
    });

    it('an admin who demotes themselves sees the outcome and no console', async () => {
      await db.knex('members').where({ slack_user_id: 'UBOB' }).update({ role: 'AccountAdmin' });
      const shown = await openConsole();
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UADMIN1', 'member_set_role');
      expect((await memberOf('UADMIN1')).role).toBe('AccountUser');
      expect(after.view.callback_id).not.toBe('admin_console');
      expect(memberRows(after.view)).toEqual([]);
      expect(allText(after.view)).toContain('<@UADMIN1> is now an *AccountUser*');
      expect(allText(after.view)).toContain('You can no longer use the console');
    });

    it('tells the admin when the DM could not be delivered', async () => {
      const shown = await openConsole();
      standIn.fail('chat.postMessage', { error: 'channel_not_found' });
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UBOB', 'member_set_role');
      expect((await memberOf('UBOB')).role).toBe('AccountAdmin');
      expect(noticeOf(after.view)).toContain('could not tell them by DM (channel_not_found)');
    });

    it.each([
      ['member_set_role', 'UBOB', 'member.role_changed'],
      ['member_remove', 'UBOB', 'member.removed'],
    ])('acts once on %s when Slack delivers the same press twice', async (actionId, user, auditAction) => {
      const shown = await openConsole();
      const claims: Array<{ key: string; claimed: boolean }> = [];
      const requests = running.bot.services.requests;
      const claim = requests.claim.bind(requests);
      vi.spyOn(requests, 'claim').mockImplementation(async (key: string) => {
        const claimed = await claim(key);
        claims.push({ key, claimed });
        return claimed;
      });
      const payload = buttonPayload('UADMIN1', shown, `member_actions:${user}`, actionId);

      const first = await running.slack.interaction(payload);
      expect(first.status).toBe(200);
      await waitFor(() => standIn.callsTo('views.update').length === 1, 5_000, 'first update');
      expect(standIn.dmsTo(user)).toHaveLength(1);

      const again = await running.slack.interaction(payload);
      expect(again.status).toBe(200);
      // The redelivery has been handled once its claim has been refused.
      await waitFor(() => claims.length === 2, 5_000, 'second claim');
      expect(claims[0]?.key).toBe(claims[1]?.key);
      expect(claims.map((c) => c.claimed)).toEqual([true, false]);
      expect(standIn.dmsTo(user)).toHaveLength(1);
      expect(await auditRows(auditAction)).toHaveLength(1);
    });
  });

  // --- 4. The last AccountAdmin ---

  describe('the last AccountAdmin', () => {
    it.each([
      ['member_set_role', 'Make AccountUser'],
      ['member_remove', 'Remove'],
    ])('refuses %s on the only AccountAdmin, saying why, and changes nothing', async (actionId, label) => {
      await insertMembers(db.knex, running.account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
      const shown = await openConsole();
      expect(textOf(button(shown.view, 'member_actions:UADMIN1', actionId).text)).toBe(label);
      const after = await pressAndUpdate('UADMIN1', shown, 'member_actions:UADMIN1', actionId);

      expect(after.view.callback_id).toBe('admin_console');
      expect(noticeOf(after.view)).toContain('at least one AccountAdmin');
      expect(memberRow(after.view, 'UADMIN1')).toContain('*AccountAdmin*');
      expect(await memberOf('UADMIN1')).toMatchObject({ role: 'AccountAdmin', status: 'active' });
      expect(standIn.callsTo('chat.postMessage')).toHaveLength(0);
      expect(await auditRows('member.role_changed')).toHaveLength(0);
      expect(await auditRows('member.removed')).toHaveLength(0);
    });
  });

  // --- 5. Demoted while the console is open ---

  describe('an admin demoted while the console is open', () => {
    it('is refused at the next button press and at the invite form, and the refusals are audited', async () => {
      await insertMembers(db.knex, running.account, [
        { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Ben Admin' },
        { slackUserId: 'UBOB', displayName: 'Bob' },
      ]);
      const console2 = await openConsole('UADMIN2');
      const form2 = await openInviteForm('UADMIN2', console2);

      // Meanwhile the other admin demotes them from their own console.
      const console1 = await openConsole('UADMIN1');
      const demoted = await pressAndUpdate('UADMIN1', console1, 'member_actions:UADMIN2', 'member_set_role');
      expect(noticeOf(demoted.view)).toContain('<@UADMIN2> is now an *AccountUser*');
      expect((await memberOf('UADMIN2')).role).toBe('AccountUser');
      const dmsBefore = standIn.callsTo('chat.postMessage').length;

      // A button in the console they still have open.
      const refused = await pressAndUpdate('UADMIN2', console2, 'member_actions:UBOB', 'member_remove');
      expect(refused.view.callback_id).not.toBe('admin_console');
      expect(memberRows(refused.view)).toEqual([]);
      expect(allText(refused.view)).toContain('needs the AccountAdmin role');
      expect(allText(refused.view)).toContain('you are an AccountUser');
      expect(await memberOf('UBOB')).toMatchObject({ status: 'active', role: 'AccountUser' });
      await expectRefusalAudited('UADMIN2', 'Removing members');

      // The invite form they still have open.
      const since = standIn.calls.length;
      const res = await submitInvites('UADMIN2', form2, ['UNEW1'], console2.id);
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('update');
      const view = res.json?.view as View;
      expect(slackLimitProblems(view)).toEqual([]);
      expect(allText(view)).toContain('needs the AccountAdmin role');
      await expectRefusalAudited('UADMIN2', 'Inviting people');
      expect(await pendingInvitesFor('UNEW1')).toEqual([]);
      expect(standIn.calls.slice(since).filter((c) => c.method === 'users.info')).toHaveLength(0);
      expect(standIn.callsTo('chat.postMessage')).toHaveLength(dmsBefore);
      expect(await auditRows('member.removed')).toHaveLength(0);
      expect(await auditRows('invite.created')).toHaveLength(0);
    });

    it('is refused the invite form and paging after demotion', async () => {
      await insertMembers(db.knex, running.account, [
        { slackUserId: 'UADMIN2', role: 'AccountAdmin', displayName: 'Ben Admin' },
        ...ids('UM', 1, 12).map((id) => ({ slackUserId: id, displayName: `Member ${id}` })),
      ]);
      const console2 = await openConsole('UADMIN2');
      await db.knex('members').where({ slack_user_id: 'UADMIN2' }).update({ role: 'AccountUser' });

      const paged = await pressAndUpdate('UADMIN2', console2, 'paging', 'console_next_page');
      expect(memberRows(paged.view)).toEqual([]);
      expect(allText(paged.view)).toContain('needs the AccountAdmin role');
      await expectRefusalAudited('UADMIN2', 'Paging the console');

      const form = await pressAndUpdate('UADMIN2', console2, 'console_actions', 'console_open_invite_form');
      expect(allText(form.view)).toContain('needs the AccountAdmin role');
      await expectRefusalAudited('UADMIN2', 'Inviting people');
      expect(standIn.callsTo('views.push')).toHaveLength(0);
    });
  });

  // --- 6. Not an admin ---

  describe('people who are not AccountAdmins', () => {
    beforeEach(async () => {
      await insertMembers(db.knex, running.account, [
        { slackUserId: 'UBOB', displayName: 'Bob' },
        { slackUserId: 'UCAROL', displayName: 'Carol' },
      ]);
    });

    it('an AccountUser and a non-member get an ephemeral answer and no console', async () => {
      const user = await running.slack.command('UBOB', '');
      expect(user.status).toBe(200);
      expect(user.json?.response_type).toBe('ephemeral');
      expect(String(user.json?.text)).toContain('You are an *AccountUser*');
      expect(String(user.json?.text)).toContain('AccountAdmins manage members');

      const stranger = await running.slack.command('UNOBODY', '');
      expect(stranger.status).toBe(200);
      expect(stranger.json?.response_type).toBe('ephemeral');
      expect(String(stranger.json?.text)).toContain('You are not registered');
      expect(String(stranger.json?.text)).toContain('Ask an AccountAdmin (<@UADMIN1>) for an invite');

      // An admin's console opens after theirs: only that one.
      const shown = await openConsole('UADMIN1');
      expect(standIn.callsTo('views.open').map((c) => served.get(c.params)?.id)).toEqual([shown.id]);
    });

    it('refuses forged console buttons from an AccountUser and a non-member, changing nothing', async () => {
      const admin = { accountId: running.account.id, slackUserId: 'UADMIN1', source: 'console' as const };
      const made = await running.bot.services.invites.create(admin, { forSlackUserId: 'UNEW1' });
      if (!made.ok) throw new Error('invite not created');
      const forged: Array<[string, string, string, string, string]> = [
        ['UBOB', 'member_actions:UBOB', 'member_set_role', 'UBOB|AccountAdmin', 'Changing roles'],
        ['UBOB', 'member_actions:UCAROL', 'member_remove', 'UCAROL', 'Removing members'],
        ['UBOB', `invite:${made.invite.id}`, 'invite_revoke', made.invite.id, 'Revoking invites'],
        ['UBOB', 'console_actions', 'console_open_invite_form', '', 'Inviting people'],
        ['UNOBODY', 'member_actions:UBOB', 'member_remove', 'UBOB', 'Removing members'],
      ];
      for (const [i, [user, blockId, actionId, value, operation]] of forged.entries()) {
        const view: View = {
          type: 'modal',
          callback_id: 'admin_console',
          title: { type: 'plain_text', text: 'ChatBees users' },
          private_metadata: '{}',
          blocks: [
            {
              type: 'actions',
              block_id: blockId,
              elements: [{ type: 'button', action_id: actionId, value, text: { type: 'plain_text', text: 'x' } }],
            },
          ],
        };
        const after = await pressAndUpdate(user, { id: `VFORGED${i}`, hash: 'forged', view }, blockId, actionId);
        expect(after.view.callback_id).not.toBe('admin_console');
        if (user === 'UBOB') {
          expect(allText(after.view)).toContain(`${operation} needs the AccountAdmin role; you are an AccountUser`);
          await expectRefusalAudited(user, operation);
        } else {
          expect(allText(after.view)).toContain('You are not registered in this ChatBees account');
          await expectRefusalAudited(user, operation, 'not_member');
        }
      }
      expect(await memberOf('UBOB')).toMatchObject({ role: 'AccountUser', status: 'active' });
      expect(await memberOf('UCAROL')).toMatchObject({ role: 'AccountUser', status: 'active' });
      expect(await pendingInvitesFor('UNEW1')).toEqual([made.invite.id]);
      expect(standIn.callsTo('chat.postMessage')).toHaveLength(0);
      expect(standIn.callsTo('views.push')).toHaveLength(0);
      for (const action of ['member.role_changed', 'member.removed', 'invite.revoked'])
        expect(await auditRows(action)).toHaveLength(0);
    });

    it('refuses a forged invite form submission from an AccountUser', async () => {
      const res = await submitInvites(
        'UBOB',
        { id: 'VFORM', hash: 'h', view: { type: 'modal', blocks: [] } },
        ['UNEW1'],
        'VROOT',
      );
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('update');
      expect(allText(res.json?.view as View)).toContain('Inviting people needs the AccountAdmin role');
      await expectRefusalAudited('UBOB', 'Inviting people');
      expect(await pendingInvitesFor('UNEW1')).toEqual([]);
      expect(standIn.callsTo('users.info')).toHaveLength(0);
      expect(standIn.callsTo('chat.postMessage')).toHaveLength(0);
    });
  });

  // --- 7. The invite form ---

  describe('inviting people from the console', () => {
    it('"Invite people…" pushes a form with a multi_users_select', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      expect(form.view).toMatchObject({ type: 'modal', callback_id: 'invite_people' });
      expect(textOf(form.view.submit)).not.toBe('');
      const input = form.view.blocks.find((b) => b.block_id === 'invitees');
      expect(input?.type).toBe('input');
      expect(input?.element).toMatchObject({ type: 'multi_users_select', action_id: 'invitees_select' });
      expect(input?.element?.max_selected_items).toBe(50);
    });

    it('invites each person picked, DMs each a registration link and shows the outcome per person', async () => {
      await insertMembers(db.knex, running.account, [{ slackUserId: 'UBOB', displayName: 'Bob' }]);
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = standIn.calls.length;
      const res = await submitInvites('UADMIN1', form, ['UNEW1', 'UNEW2', 'UBOTX', 'UGHOST', 'UBOB'], shown.id);
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('update');
      expect(slackLimitProblems(res.json?.view as View)).toEqual([]);

      const { outcome, root } = await inviteOutcome(form, shown, since);
      const lines = blockTexts(outcome.view);
      expect(lines[0]).toContain('2 of 5 invited');
      const lineFor = (user: string) => {
        const found = lines.filter((l) => l.includes(`<@${user}>`));
        expect(found, user).toHaveLength(1);
        return found[0] ?? '';
      };
      expect(lineFor('UNEW1')).toContain('invited; registration link sent by DM');
      expect(lineFor('UNEW2')).toContain('invited; registration link sent by DM');
      expect(lineFor('UBOTX')).toContain('not invited: is a bot');
      expect(lineFor('UGHOST')).toContain('not invited: is not a Slack user I can find');
      expect(lineFor('UBOB')).toContain('already a member');

      for (const user of ['UNEW1', 'UNEW2']) {
        const dms = standIn.dmsTo(user);
        expect(dms, user).toHaveLength(1);
        expect(dms[0]?.params).toMatchObject({ unfurl_links: false, unfurl_media: false });
        await expectLinkFor(registrationLinkIn(dms[0] as Call), user);
        expect(await pendingInvitesFor(user)).toHaveLength(1);
      }
      for (const user of ['UBOTX', 'UGHOST', 'UBOB']) {
        expect(standIn.dmsTo(user), user).toHaveLength(0);
        expect(await pendingInvitesFor(user), user).toHaveLength(0);
      }
      // The console underneath now lists the new invites.
      const inviteBlocks = root.view.blocks.filter((b) => b.block_id?.startsWith('invite:'));
      expect(inviteBlocks.map((b) => textOf(b.text)).join('\n')).toMatch(
        /<@UNEW1>[\s\S]*<@UNEW2>|<@UNEW2>[\s\S]*<@UNEW1>/,
      );
    });

    it.each([
      ['nobody', [] as string[], 'at least one'],
      ['51 people', ids('UMANY', 1, 51), 'at most 50'],
    ])('answers %s with a field error and sends nothing', async (_what, people, message) => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = standIn.calls.length;
      const res = await submitInvites('UADMIN1', form, people, shown.id);
      expect(res.status).toBe(200);
      expect(res.json?.response_action).toBe('errors');
      const errors = res.json?.errors as Record<string, string>;
      expect(Object.keys(errors)).toEqual(['invitees']);
      expect(errors.invitees).toContain(message);
      expect(standIn.calls.slice(since)).toEqual([]);
      expect(Number((await db.knex('invites').count<{ n: number }>({ n: '*' }).first())?.n)).toBe(0);
    });

    it('invites once when Slack delivers the same form submission twice', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const claims: boolean[] = [];
      const requests = running.bot.services.requests;
      const claim = requests.claim.bind(requests);
      vi.spyOn(requests, 'claim').mockImplementation(async (key: string) => {
        const claimed = await claim(key);
        claims.push(claimed);
        return claimed;
      });
      const since = standIn.calls.length;
      const submit = () =>
        running.slack.viewSubmission(
          'UADMIN1',
          {
            id: form.id,
            hash: form.hash,
            callback_id: 'invite_people',
            root_view_id: shown.id,
            values: { invitees: { invitees_select: { type: 'multi_users_select', selected_users: ['UNEW1'] } } },
          },
          { trigger_id: 'same-trigger-both-times' },
        );
      expect((await submit()).json?.response_action).toBe('update');
      await inviteOutcome(form, shown, since);
      expect((await submit()).json?.response_action).toBe('update');
      await waitFor(() => claims.length === 2, 5_000, 'second claim');
      expect(claims).toEqual([true, false]);
      expect(standIn.dmsTo('UNEW1')).toHaveLength(1);
      expect(await auditRows('invite.created')).toHaveLength(1);
    });

    it('sends the outcome by DM when the admin closed the form before it was ready', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = standIn.calls.length;
      standIn.on('views.update', (p) => (p.view_id === form.id ? { ok: false, error: 'not_found' } : serveView(p)));
      try {
        standIn.fail('chat.postMessage', { error: 'channel_not_found' });
        await submitInvites('UADMIN1', form, ['UNEW1'], shown.id);
        const dm = await waitFor(() => standIn.dmsTo('UADMIN1')[0], 5_000, 'outcome DM to the admin');
        const text = String(dm.params.text);
        expect(text).toContain('<@UNEW1>');
        expect(text).toContain('could not DM them (channel_not_found)');
        await expectLinkFor(/<(https:[^|>]+)\|registration link>/.exec(text)?.[1] ?? '', 'UNEW1');
        await viewCall('views.update', (c) => c.params.view_id === shown.id, since, 'console refresh');
      } finally {
        standIn.on('views.update', serveView);
      }
    });

    it('puts the registration link in the outcome when the DM to the invitee fails', async () => {
      const shown = await openConsole();
      const form = await openInviteForm('UADMIN1', shown);
      const since = standIn.calls.length;
      standIn.fail('chat.postMessage', { error: 'channel_not_found' });
      const res = await submitInvites('UADMIN1', form, ['UNEW1'], shown.id);
      expect(res.json?.response_action).toBe('update');

      const { outcome } = await inviteOutcome(form, shown, since);
      const line = blockTexts(outcome.view).find((l) => l.includes('<@UNEW1>')) ?? '';
      expect(line).toContain('could not DM them (channel_not_found)');
      const url = /<(https:[^|>]+)\|registration link>/.exec(line)?.[1] ?? '';
      await expectLinkFor(url, 'UNEW1');
      expect(await pendingInvitesFor('UNEW1')).toHaveLength(1);
    });

    it('puts the link only of the person the DM did not reach in the outcome', async () => {
      standIn.on('conversations.open', (p) =>
        p.users === 'UNEW2'
          ? { ok: false, error: 'cannot_dm_bot' }
          : { channel: { id: `D${String(p.users).slice(1)}` } },
      );
      try {
        const shown = await openConsole();
        const form = await openInviteForm('UADMIN1', shown);
        const since = standIn.calls.length;
        await submitInvites('UADMIN1', form, ['UNEW1', 'UNEW2'], shown.id);
        const { outcome } = await inviteOutcome(form, shown, since);
        const text = allText(outcome.view);
        const links = [...text.matchAll(/<(https:[^|>]+)\|registration link>/g)].map((m) => m[1] ?? '');
        expect(links).toHaveLength(1);
        await expectLinkFor(links[0] ?? '', 'UNEW2');
        expect(blockTexts(outcome.view).find((l) => l.includes('<@UNEW2>'))).toContain(
          'could not DM them (cannot_dm_bot)',
        );
        expect(blockTexts(outcome.view).find((l) => l.includes('<@UNEW1>'))).toContain('registration link sent by DM');
        expect(standIn.dmsTo('UNEW1')).toHaveLength(1);
        expect(standIn.dmsTo('UNEW2')).toHaveLength(0);
      } finally {
        standIn.on('conversations.open', (p) => ({ channel: { id: `D${String(p.users).slice(1)}` } }));
      }
    });
  });
});
