// Request access (a non-member's button, as `/chatbees-users request`), and Approve and Deny on a
// copy of an access request (an admin's DM): the permission middleware has refused anyone but an
// active AccountAdmin already, the operation checks again, and the first decision wins (a later
// press on any copy is told who decided).
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { refusalText } from '../../refusal-text.js';
import { setOutcome } from '../../request-log.js';
import { type Decision, decideRequest } from '../../services/operations/decide-request.js';
import { requestAccess } from '../../services/operations/request-access.js';
import * as outcomes from '../blocks/outcomes.js';
import { escapeMrkdwn, mention } from '../blocks/text.js';
import { type RequestActor, type SlackDeps, serviceActor, whisper } from '../context.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function decisionPressed(deps: SlackDeps, decision: Decision) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const source = args.body.container?.type === 'message' ? 'invitation_dm' : 'console';
    const outcome = await decideRequest(deps.services, serviceActor(actor, source), {
      requestId: Number(args.action.value ?? 0) || 0,
      decision,
    });
    if (outcome.ok) return;
    setOutcome(`refused:${outcome.reason}`);
    const text =
      outcome.reason === 'request_decided' && outcome.decided
        ? `Already ${escapeMrkdwn(outcome.decided.decision)}${outcome.decided.by ? ` by ${mention(outcome.decided.by)}` : ''}: nothing changed.`
        : escapeMrkdwn(refusalText(outcome.reason));
    await whisper(args.respond, text);
  };
}

/** Request access, pressed in the answer a non-member got: the same as `/chatbees-users request`. */
export function requestPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const outcome = await requestAccess(deps.services, { account: actor.account, slackUserId: actor.slackUserId });
    if (!outcome.ok) setOutcome(`refused:${outcome.reason}`);
    await args.respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: outcomes.accessRequested(outcome),
    });
  };
}
