// The admin console's tests (test/slack/console/): Slack's limits for the views the bot sends,
// reading those views, and one bot per backend with a Slack stand-in that answers views.* calls
// like Slack (an id and a hash per view) and helpers to press the console's buttons.
import type {
  ActionsBlockElement,
  AnyBlock,
  Button,
  InputBlockElement,
  KnownBlock,
  ModalView,
  SectionBlockAccessory,
  TextObject,
  View,
} from '@slack/types';
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest';
import { PUBLIC_URL, type RunningBot, resetAccount, startTestBot } from './bot.js';
import type { BackendUnderTest, TestDatabase } from './databases.js';
import { type SlackResponse, triggerId } from './slack-requests.js';
import { type Call, SlackStandIn, TEAM_ID, waitFor } from './slack-stand-in.js';

/** A view as Slack holds it after views.open/push/update: with its id and current hash. */
export interface Shown {
  id: string;
  hash: string;
  view: ModalView;
}

// --- Reading loosely-typed Block Kit ---

/** The words of a text object (or of a plain string, as a markdown block or a context's text has). */
export function textOf(value: TextObject | string | undefined): string {
  return typeof value === 'string' ? value : (value?.text ?? '');
}

/** A block as one of the kinds Slack knows; what Slack does not know falls to a check's default. */
function known(block: AnyBlock): KnownBlock {
  return block as KnownBlock;
}

/** The action_id of any element, when it has one. */
function actionIdOf(element: object): string | undefined {
  return 'action_id' in element && typeof element.action_id === 'string' ? element.action_id : undefined;
}

/** The `elements` of a block of any type ([] for a block without them). */
function elementsOf(block: AnyBlock | undefined): object[] {
  const b = block && known(block);
  return b && 'elements' in b ? (b.elements ?? []) : [];
}

/** The `text` of any Block Kit part, a string or a text object ('' for a part without one). */
function textField(part: object | undefined): string {
  return part && 'text' in part ? textOf(part.text as TextObject | string | undefined) : '';
}

// --- Slack's limits for modals (api.slack.com/reference/surfaces/views, block-kit reference) ---

function elementProblems(
  where: string,
  element: ActionsBlockElement | SectionBlockAccessory | InputBlockElement,
): string[] {
  const problems: string[] = [];
  if ((actionIdOf(element) ?? '').length > 255) problems.push(`${where}: action_id over 255`);
  if (element.type === 'button') {
    const text = textOf(element.text);
    if (!text) problems.push(`${where}: button without text`);
    if (text.length > 75) problems.push(`${where}: button text over 75 (${text.length})`);
    if ((element.value ?? '').length > 2000) problems.push(`${where}: button value over 2000`);
    if ((element.url ?? '').length > 3000) problems.push(`${where}: button url over 3000`);
  }
  if ('placeholder' in element && element.placeholder && textOf(element.placeholder).length > 150)
    problems.push(`${where}: placeholder over 150`);
  const confirm = 'confirm' in element ? element.confirm : undefined;
  if (confirm) {
    if (textOf(confirm.title).length > 100) problems.push(`${where}: confirm title over 100`);
    if (textOf(confirm.text).length > 300) problems.push(`${where}: confirm text over 300`);
    if (textOf(confirm.confirm).length > 30) problems.push(`${where}: confirm button over 30`);
    if (textOf(confirm.deny).length > 30) problems.push(`${where}: deny button over 30`);
  }
  return problems;
}

/** Everything in `view` that Slack would refuse; empty when Slack would take it. */
export function slackLimitProblems(view: View): string[] {
  const problems: string[] = [];
  if (view.type !== 'modal') problems.push(`type is ${view.type}, not modal`);
  if (!Array.isArray(view.blocks)) return [...problems, 'no blocks'];
  if (view.blocks.length > 100) problems.push(`${view.blocks.length} blocks (over 100)`);
  // A modal's title, submit and close, read off whatever view came.
  const modal = view as Partial<Pick<ModalView, 'title' | 'submit' | 'close'>>;
  const title = textOf(modal.title);
  if (!title) problems.push('no title');
  for (const [name, value] of [
    ['title', modal.title],
    ['submit', modal.submit],
    ['close', modal.close],
  ] as const) {
    if (value && value.type !== 'plain_text') problems.push(`${name} is not plain_text`);
    if (textOf(value).length > 24) problems.push(`${name} "${textOf(value)}" over 24 characters`);
  }
  if (view.blocks.some((b) => b.type === 'input') && !modal.submit) problems.push('input without submit');
  if ((view.callback_id ?? '').length > 255) problems.push('callback_id over 255');
  if ((view.private_metadata ?? '').length > 3000)
    problems.push(`private_metadata of ${view.private_metadata?.length} characters (over 3000)`);
  const blockIds = new Set<string>();
  view.blocks.map(known).forEach((block, i) => {
    const where = `block ${i} (${block.block_id ?? block.type})`;
    if (block.block_id !== undefined) {
      if (blockIds.has(block.block_id)) problems.push(`${where}: duplicate block_id`);
      blockIds.add(block.block_id);
      if (block.block_id.length > 255) problems.push(`${where}: block_id over 255`);
    }
    const actionIds = new Set<string>();
    const elements = [
      ...elementsOf(block),
      ...('accessory' in block && block.accessory ? [block.accessory] : []),
      ...('element' in block && block.element ? [block.element] : []),
    ];
    for (const element of elements) {
      const actionId = actionIdOf(element);
      if (actionId !== undefined) {
        if (actionIds.has(actionId)) problems.push(`${where}: duplicate action_id ${actionId}`);
        actionIds.add(actionId);
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
          if (textField(e).length > 3000) problems.push(`${where}: context text over 3000`);
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

export const VIEW_METHODS = ['views.open', 'views.update', 'views.push'];

/** Every view the bot sent to Slack, checked against Slack's limits. */
export function expectViewsWithinSlackLimits(standIn: SlackStandIn): number {
  const sent = standIn.calls.filter((c) => VIEW_METHODS.includes(c.method));
  for (const [i, call] of sent.entries()) {
    expect(slackLimitProblems(call.params.view as View), `${call.method} #${i}`).toEqual([]);
  }
  return sent.length;
}

// --- Reading views ---

export function blockById(view: View, blockId: string): AnyBlock | undefined {
  return view.blocks.find((b) => b.block_id === blockId);
}

/** The words of a block's own text ('' for a block without one). */
export function blockText(block: AnyBlock | undefined): string {
  const b = block && known(block);
  return b && 'text' in b ? textOf(b.text) : '';
}

export function blockTexts(view: View): string[] {
  const texts: string[] = [];
  for (const block of view.blocks.map(known)) {
    if ('text' in block && block.text) texts.push(textOf(block.text));
    if ('fields' in block) for (const field of block.fields ?? []) texts.push(textOf(field));
    if (block.type === 'context') for (const e of block.elements ?? []) texts.push(textField(e));
  }
  return texts;
}

export function allText(view: View): string {
  return blockTexts(view).join('\n');
}

/** The console's notice: the text of the first element of its `notice` block. */
export function noticeOf(view: View): string {
  return textField(elementsOf(blockById(view, 'notice'))[0]);
}

export function memberRows(view: View): string[] {
  return view.blocks.filter((b) => b.block_id?.startsWith('member:')).map((b) => b.block_id?.slice(7) ?? '');
}

export function memberRow(view: View, user: string): string {
  return blockText(blockById(view, `member:${user}`));
}

/**
 * The element with `actionId` in block `blockId`: its accessory, else one of its elements. Typed
 * as the Button every console action is.
 */
export function findButton(view: View, blockId: string, actionId: string): Button | undefined {
  const block = blockById(view, blockId);
  const b = block && known(block);
  if (b && 'accessory' in b && b.accessory && actionIdOf(b.accessory) === actionId) return b.accessory as Button;
  return elementsOf(block).find((e) => actionIdOf(e) === actionId) as Button | undefined;
}

export function button(view: View, blockId: string, actionId: string): Button {
  const found = findButton(view, blockId, actionId);
  if (!found) throw new Error(`no button ${actionId} in block ${blockId}`);
  return found;
}

/** User ids `prefix` + `from`…`to` in two digits: ids('UM', 1, 3) is UM01, UM02, UM03. */
export const ids = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(2, '0')}`);

// --- The console under test ---

/** The audit key of each operation a refusal names (src/slack/operations.ts). */
const AUDIT_KEY: Record<string, string> = {
  'Removing members': 'members.remove',
  'Inviting people': 'invites.send',
  'Paging the console': 'console.page',
  'Changing roles': 'members.change_role',
  'Revoking invites': 'invites.revoke',
};

/**
 * One bot for a describe block on `backend`, with a Slack stand-in that answers views.* like
 * Slack. Before each test the account holds only UADMIN1 (AccountAdmin, "Ada Admin") and the
 * stand-in has forgotten its calls and faults; after each, every view sent is checked against
 * Slack's limits. Returns the bot's parts (set once the block starts) and helpers over them.
 */
export function consoleUnderTest(backend: BackendUnderTest) {
  const t = {} as { db: TestDatabase; standIn: SlackStandIn; running: RunningBot };
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
    t.db = await backend.open();
    t.standIn = await new SlackStandIn().start();
    for (const method of VIEW_METHODS) t.standIn.on(method, serveView);
    for (const id of ['UADMIN1', 'UADMIN2', 'UBOB', 'UCAROL', 'UNEW1', 'UNEW2']) t.standIn.addUser({ id });
    t.standIn.addUser({ id: 'UBOTX', is_bot: true, name: 'helper-bot' });
    t.running = await startTestBot({ db: t.db, standIn: t.standIn, env: { INITIAL_ADMINS: 'UADMIN1' } });
  });

  afterAll(async () => {
    await t.running?.stop();
    await t.standIn?.stop();
    await t.db?.close();
  });

  beforeEach(() =>
    resetAccount(t.running, t.db, t.standIn, [
      { slackUserId: 'UADMIN1', role: 'AccountAdmin', displayName: 'Ada Admin' },
    ]),
  );

  afterEach(() => {
    vi.restoreAllMocks();
    expectViewsWithinSlackLimits(t.standIn);
  });

  /** The id and hash the stand-in gave the view of a views.* call. */
  const servedFor = (call: Call) => served.get(call.params);

  function shownBy(call: Call): Shown {
    const answer = served.get(call.params);
    if (!answer) throw new Error(`no view served for ${call.method}`);
    return { ...answer, view: call.params.view as ModalView };
  }

  async function viewCall(method: string, match: (call: Call) => boolean, since: number, what: string) {
    return waitFor(() => t.standIn.calls.slice(since).find((c) => c.method === method && match(c)), 5_000, what);
  }

  /** `/chatbees-users` with no text, as `user`; resolves with the console Slack shows. */
  async function openConsole(user = 'UADMIN1'): Promise<Shown> {
    const since = t.standIn.calls.length;
    const trigger = triggerId();
    const res = await t.running.slack.command(user, '', { trigger_id: trigger });
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
    const res = await t.running.slack.blockAction(
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
    const since = t.standIn.calls.length;
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
    return actionPayload(user, shown, { type: 'button', action_id: actionId, block_id: blockId, value: element.value });
  }

  /** The body Slack sends for an action in a view (a press, Enter in an input), with the view's state. */
  function actionPayload(
    user: string,
    shown: Pick<Shown, 'id' | 'hash' | 'view'>,
    action: { type: string; action_id: string; block_id: string; value?: string | null },
    values: Record<string, unknown> = {},
  ): Record<string, unknown> {
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
        state: { values },
      },
      actions: [{ ...action, action_ts: '1' }],
    };
  }

  async function openInviteForm(user: string, adminConsole: Shown): Promise<Shown> {
    const since = t.standIn.calls.length;
    const trigger = triggerId();
    await press(user, adminConsole, 'console_actions', 'console_open_invite_form', { trigger_id: trigger });
    return shownBy(await viewCall('views.push', (c) => c.params.trigger_id === trigger, since, 'views.push'));
  }

  /** Submits the invite form `form` (only its id and hash are sent) picking `people`. */
  function submitInvites(user: string, form: Pick<Shown, 'id' | 'hash'>, people: string[], rootViewId: string) {
    return t.running.slack.viewSubmission(user, {
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
    t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: user }).first();
  const auditRows = (action: string) =>
    t.db.knex('audit_log').where({ account_id: t.running.account.id, action }).orderBy('id');
  const pendingInvitesFor = (user: string) =>
    t.db.knex('invites').where({ for_slack_user_id: user }).whereNull('revoked_at').pluck('id');

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
    const blocks = dm.params.blocks as AnyBlock[];
    const linked = blocks.flatMap(elementsOf).find((e): e is Pick<Button, 'url'> => 'url' in e && Boolean(e.url));
    const url = linked?.url ?? '';
    expect(String(dm.params.text)).toContain(url);
    return url;
  }

  async function expectLinkFor(url: string, user: string) {
    expect(url.startsWith(`${PUBLIC_URL}/register/`)).toBe(true);
    const inspected = await t.running.bot.services.invites.inspect(url.slice(`${PUBLIC_URL}/register/`.length));
    expect(inspected.ok).toBe(true);
    expect(inspected.ok && inspected.invite.forSlackUserId).toBe(user);
  }

  return Object.assign(t, {
    serveView,
    servedFor,
    viewCall,
    openConsole,
    press,
    pressAndUpdate,
    buttonPayload,
    actionPayload,
    openInviteForm,
    submitInvites,
    inviteOutcome,
    memberOf,
    auditRows,
    pendingInvitesFor,
    expectRefusalAudited,
    registrationLinkIn,
    expectLinkFor,
  });
}
