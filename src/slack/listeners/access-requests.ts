// Request access (a non-member's button, as `/chatbees-users request`), and Approve and Deny on a
// copy of an access request (an admin's DM, the requests channel, the `requests` list): the
// permission middleware has refused anyone but an active AccountAdmin already, the operation
// checks again, and the first decision wins (a later press on any copy is told who decided).
// Deny opens a small form for an optional reason; the decision is taken when it is sent.
import type {
  AllMiddlewareArgs,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
  SlackViewMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';
import { setOutcome } from '../../request-log.js';
import { decideRequest, requestStanding } from '../../services/operations/decide-request.js';
import { MAX_REASON_LENGTH, requestAccess } from '../../services/operations/request-access.js';
import { notice } from '../blocks/console.js';
import { UNAVAILABLE } from '../blocks/messages.js';
import * as outcomes from '../blocks/outcomes.js';
import { DENY_REASON_BLOCK, DENY_REASON_INPUT, decisionDone, decisionRefused, denyForm } from '../blocks/requests.js';
import { actorFrom, logFailure, type RequestActor, type SlackDeps, serviceActor, whisper } from '../context.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;
type FormArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

const requestIdOf = (value: string | undefined) => Number(/^\d{1,15}$/.test(value ?? '') ? value : 0);

/** Approve: decided at the press. */
export function approvePressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const outcome = await decideRequest(deps.services, serviceActor(actor, sourceOf(args)), {
      requestId: requestIdOf(args.action.value),
      decision: 'approved',
    });
    if (!outcome.ok) {
      setOutcome(args.context, `refused:${outcome.reason}`);
      await whisper(args.respond, decisionRefused(outcome));
      return;
    }
    // A copy changes in place to show it; the `requests` list is the presser's alone and does not.
    if (isEphemeral(args)) await whisper(args.respond, decisionDone('approved', outcome.requester));
  };
}

/** Deny: a form for the reason, unless the request was decided already. */
export function denyPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const requestId = requestIdOf(args.action.value);
    const standing = await requestStanding(deps.services, serviceActor(actor, sourceOf(args)), requestId);
    if (!standing.ok) {
      setOutcome(args.context, `refused:${standing.reason}`);
      await whisper(args.respond, decisionRefused(standing));
      return;
    }
    await args.client.views.open({
      trigger_id: args.body.trigger_id,
      view: denyForm(actor.account, requestId, standing.requester, MAX_REASON_LENGTH),
    });
  };
}

/** Deny's form sent: the decision is taken now (first decision wins, as for a press). */
export function denySubmitted(deps: SlackDeps) {
  return async (args: FormArgs): Promise<void> => {
    const { body, client } = args;
    await args.ack({ response_action: 'update', view: notice('Deny access request', 'Denying…') });
    const actor = actorFrom(args.context);
    try {
      if (!(await deps.services.requests.claim(`view:${actor.teamId}:${body.view.id}:${body.view.hash}`))) {
        setOutcome(args.context, 'redelivery_ignored');
        return;
      }
      const reason = body.view.state.values[DENY_REASON_BLOCK]?.[DENY_REASON_INPUT]?.value ?? undefined;
      const outcome = await decideRequest(deps.services, serviceActor(actor, 'console'), {
        requestId: requestIdOf(body.view.private_metadata),
        decision: 'denied',
        reason,
      });
      if (!outcome.ok) setOutcome(args.context, `refused:${outcome.reason}`);
      const text = outcome.ok ? decisionDone('denied', outcome.requester) : decisionRefused(outcome);
      await client.views.update({ view_id: body.view.id, view: notice('Deny access request', text) });
    } catch (err) {
      logFailure(deps.logger, args.context, err, 'deny form failed');
      await client.views
        .update({ view_id: body.view.id, view: notice('Deny access request', UNAVAILABLE) })
        .catch(() => {});
    }
  };
}

/** Request access, pressed where a non-member was told they are not one: as `/chatbees-users request`. */
export function requestPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    // From an expired invitation's DM, the button names that invitation (the admins are told).
    const value = args.action.value ?? '';
    const outcome = await requestAccess(deps.services, {
      account: actor.account,
      slackUserId: actor.slackUserId,
      ...(value.startsWith('invite:') ? { fromInvite: value.slice('invite:'.length) } : {}),
    });
    if (!outcome.ok) setOutcome(args.context, `refused:${outcome.reason}`);
    const text = outcomes.accessRequested(outcome);
    if (args.body.response_url) {
      await args.respond({ response_type: 'ephemeral', replace_original: false, text });
    } else {
      // The Home tab has no response_url: the answer opens as a small window.
      await args.client.views.open({ trigger_id: args.body.trigger_id, view: notice('Request access', text) });
    }
  };
}

function isEphemeral(args: Args): boolean {
  return (args.body.container as { is_ephemeral?: boolean } | undefined)?.is_ephemeral === true;
}

function sourceOf(args: Args) {
  return args.body.container?.type === 'message' ? ('invitation_dm' as const) : ('console' as const);
}
