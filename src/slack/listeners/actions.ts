// Buttons in the admin console (paging, invite form, role, remove, revoke) and the
// registration button in invitation DMs.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { refusalText } from '../../refusal-text.js';
import { setOutcome } from '../../request-log.js';
import { ROLES, type Role } from '../../services/types.js';
import { type ConsolePage, consoleView, decodePage, inviteForm, notice } from '../blocks/console.js';
import { UNAVAILABLE } from '../blocks/messages.js';
import { marked } from '../blocks/outcomes.js';
import { escapeMrkdwn } from '../blocks/text.js';
import * as changes from '../changes.js';
import { searchFilter } from '../command/parse.js';
import { loadConsole } from '../console-data.js';
import { actorFrom, logFailure, type RequestActor, type SlackDeps, serviceActor, whisper } from '../context.js';
import { sendDm, slackError } from '../notify.js';
import { BUTTONS, checkHandlers } from '../operations.js';
import type { Router } from '../router.js';
import { approvePressed, denyPressed, requestPressed } from './access-requests.js';
import { cancelPressed, invitePressed, revokeAllPressed, stopPressed } from './bulk-invitation.js';
import { acceptPressed, askAgainPressed, inviteAgainPressed } from './invitation-dm.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** Re-renders the console the button was pressed in, in place. */
async function refreshConsole(
  args: Args,
  deps: SlackDeps,
  actor: RequestActor,
  shown: ConsolePage,
  noticeText?: string,
) {
  const viewId = args.body.view?.id;
  if (!viewId) return;
  const data = await loadConsole(deps.services, actor, shown, noticeText);
  // After demoting or removing themselves, an admin sees the outcome and no console.
  const noLonger = `You can no longer use the console: ${escapeMrkdwn(refusalText('not_admin'))}`;
  const view = data
    ? consoleView(data)
    : notice('ChatBees users', noticeText ? `${noticeText}\n${noLonger}` : noLonger);
  try {
    // With the hash Slack refuses an update based on an older state of the view.
    await args.client.views.update({ view_id: viewId, hash: args.body.view?.hash, view });
  } catch (err) {
    const error = slackError(err);
    // A newer update (a quicker second click) won; it shows fresher data than this one.
    if (error !== 'hash_conflict') throw new ConsoleNotUpdated(error, noticeText);
  }
}

/** The change is stored, but Slack did not take the console's new state. */
class ConsoleNotUpdated extends Error {
  constructor(
    readonly error: string,
    readonly noticeText: string | undefined,
  ) {
    super(`console not updated: ${error}`);
  }
}

type ButtonWork = (args: Args, actor: RequestActor) => Promise<void>;

/**
 * Every button goes through one handler that picks the work by action_id (the router finds
 * it by the request's type alone). Ids nobody handles are acked and ignored.
 */
function buttonDispatcher(router: Router, deps: SlackDeps): Map<string, ButtonWork> {
  const handlers = new Map<string, ButtonWork>();
  router.blockActions<BlockAction<ButtonAction>>(async (args) => {
    await args.ack();
    const actionId = args.action.action_id;
    const work = handlers.get(actionId);
    if (!work) return;
    const actor = actorFrom(args.context);
    try {
      await work(args, actor);
    } catch (err) {
      if (err instanceof ConsoleNotUpdated) {
        // Tell the admin what happened some other way: their change must not go unreported.
        if (err.noticeText) {
          await sendDm(args.client, deps.logger, actor.slackUserId, {
            text: `${err.noticeText}\n(I could not update the console: ${escapeMrkdwn(err.error)}.)`,
          });
        }
        return;
      }
      logFailure(deps.logger, args.context, err, 'console action failed', { action: actionId });
      const view = args.body.view;
      // From the Home tab the answer opens as a modal; in the console it replaces the view.
      const shown =
        view?.type === 'home'
          ? args.client.views.open({ trigger_id: args.body.trigger_id, view: notice('Not done', UNAVAILABLE) })
          : view?.id
            ? args.client.views.update({ view_id: view.id, view: notice('Not done', UNAVAILABLE) })
            : // A button in a message (an invitation DM): an answer only its presser sees.
              whisper(args.respond, UNAVAILABLE);
      await shown?.catch((e: unknown) => logFailure(deps.logger, args.context, e, 'could not show the failure'));
    }
  });
  return handlers;
}

/** After a stored change: whatever stops the console from showing it, the admin still learns of it. */
async function refreshAfterChange(
  args: Args,
  deps: SlackDeps,
  actor: RequestActor,
  shown: ConsolePage,
  text: string,
): Promise<void> {
  try {
    await refreshConsole(args, deps, actor, shown, text);
  } catch (err) {
    if (err instanceof ConsoleNotUpdated) throw err;
    logFailure(deps.logger, args.context, err, 'console not reloaded after a change');
    throw new ConsoleNotUpdated('the console could not be reloaded', text);
  }
}

/** A change from a console button, made once however often Slack delivers the click. */
async function once(args: Args, deps: SlackDeps, actor: RequestActor): Promise<boolean> {
  const key = `action:${actor.teamId}:${args.body.trigger_id}:${args.action.action_id}`;
  const first = await deps.services.requests.claim(key);
  if (!first) setOutcome(args.context, 'redelivery_ignored');
  return first;
}

export function register(router: Router, deps: SlackDeps): void {
  const { services } = deps;

  const handlers = buttonDispatcher(router, deps);
  const onButton = (actionId: string, work: ButtonWork) => handlers.set(actionId, work);
  /** A button that changes something: acted on once, however often Slack delivers the press. */
  const onChange = (actionId: string, work: ButtonWork) =>
    onButton(actionId, async (args, actor) => {
      if (await once(args, deps, actor)) await work(args, actor);
    });
  // The link button in invitation DMs needs no handler: Slack opens the URL itself and tells us,
  // and the dispatcher acks it.

  // Paging keeps the search; a search starts at its first page.
  const narrowed = (args: Args) => {
    const { filter } = decodePage(args.body.view?.private_metadata);
    return filter ? { filter } : {};
  };
  onButton(BUTTONS.nextPage, (args, actor) =>
    refreshConsole(args, deps, actor, { after: args.action.value ?? '', ...narrowed(args) }),
  );
  onButton(BUTTONS.previousPage, (args, actor) =>
    refreshConsole(args, deps, actor, { before: args.action.value ?? '', ...narrowed(args) }),
  );
  onButton(BUTTONS.searchMembers, (args, actor) => {
    const filter = searchFilter(args.action.value ?? '');
    return refreshConsole(args, deps, actor, filter ? { filter } : {});
  });
  onButton(BUTTONS.clearSearch, (args, actor) => refreshConsole(args, deps, actor, {}));

  // From an invitation DM: the invited person joins.
  onChange(BUTTONS.acceptInvitation, acceptPressed(deps));
  // From an expired invitation's DM, and then the inviting admin's.
  onChange(BUTTONS.askAgain, askAgainPressed(deps));
  onChange(BUTTONS.inviteAgain, inviteAgainPressed(deps));
  // From the answer a non-member got.
  onChange(BUTTONS.requestAccess, requestPressed(deps));
  // On a copy of an access request: the first decision wins (the operation claims it); Deny
  // first asks for a reason.
  onButton(BUTTONS.approveRequest, approvePressed(deps));
  onButton(BUTTONS.denyRequest, denyPressed(deps));

  // Inviting channels and user groups: the counts' buttons, then the progress message's.
  onChange(BUTTONS.bulkInvite, invitePressed(deps));
  onChange(BUTTONS.bulkCancel, cancelPressed(deps));
  onChange(BUTTONS.bulkStop, stopPressed(deps));
  onChange(BUTTONS.bulkRevokeAll, revokeAllPressed(deps));

  // From the App Home: the console, as `/chatbees-users` opens it.
  onButton(BUTTONS.openConsoleFromHome, async (args, actor) => {
    const data = await loadConsole(deps.services, actor, {});
    const view = data ? consoleView(data) : notice('ChatBees users', escapeMrkdwn(refusalText('not_admin')));
    await args.client.views.open({ trigger_id: args.body.trigger_id, view });
  });

  onButton(BUTTONS.openInviteForm, async (args, actor) => {
    await args.client.views.push({ trigger_id: args.body.trigger_id, view: inviteForm(actor.account) });
  });

  onChange(BUTTONS.setRole, async (args, actor) => {
    const [user = '', roleText = ''] = (args.action.value ?? '').split('|');
    const role = ROLES.find((r) => r === roleText) as Role | undefined;
    const shown = decodePage(args.body.view?.private_metadata);
    if (!role) return refreshConsole(args, deps, actor, shown, 'That button is out of date; try again.');
    const said = await changes.roleChange(services, serviceActor(actor, 'console'), { user, role });
    await refreshAfterChange(args, deps, actor, shown, marked(said));
  });

  onChange(BUTTONS.remove, async (args, actor) => {
    const shown = decodePage(args.body.view?.private_metadata);
    const input = { user: args.action.value ?? '' };
    const said = await changes.removal(services, serviceActor(actor, 'console'), actor.account, input);
    await refreshAfterChange(args, deps, actor, shown, marked(said));
  });

  onChange(BUTTONS.revokeInvite, async (args, actor) => {
    const shown = decodePage(args.body.view?.private_metadata);
    const input = { inviteId: args.action.value ?? '' };
    const said = await changes.revocation(services, serviceActor(actor, 'console'), input);
    await refreshAfterChange(args, deps, actor, shown, marked(said));
  });

  // Every button the operations table lists has its handler here, and none other.
  checkHandlers('button', handlers.keys());
}
