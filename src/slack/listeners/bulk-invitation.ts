// The buttons of an invitation of channels and user groups: Invite and Cancel on the counts,
// Stop on the progress message while it runs, Revoke all on it once it ended. The permission
// middleware has refused anyone but an active AccountAdmin; the operations check again.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { refusalText } from '../../refusal-text.js';
import { setOutcome } from '../../request-log.js';
import {
  cancelInvitation,
  progressOf,
  revokeAll,
  startInvitation,
  stopInvitation,
} from '../../services/operations/bulk-invitation.js';
import type { Refused } from '../../services/types.js';
import { bulkProgress } from '../blocks/bulk.js';
import { escapeMrkdwn } from '../blocks/text.js';
import { type RequestActor, type SlackDeps, serviceActor, whisper } from '../context.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

const bulkIdOf = (args: Args) => Number(/^\d{1,15}$/.test(args.action.value ?? '') ? args.action.value : 0);

function refused(args: Args, outcome: Refused): Promise<unknown> {
  setOutcome(args.context, `refused:${outcome.reason}`);
  const text =
    outcome.reason === 'wrong_person'
      ? 'Only the AccountAdmin who counted this invitation can start or cancel it.'
      : refusalText(outcome.reason);
  return whisper(args.respond, escapeMrkdwn(text));
}

/** Invite: it starts; the counts message says where to follow it. */
export function invitePressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const outcome = await startInvitation(deps.services, serviceActor(actor, 'slash_command'), {
      bulkId: bulkIdOf(args),
    });
    if (!outcome.ok) return void (await refused(args, outcome));
    const total = outcome.progress.total.toLocaleString('en-US');
    await args.respond({
      response_type: 'ephemeral',
      replace_original: true,
      text: `:outbox_tray: Inviting ${total} people. I keep a message in our DM up to date as it goes, with a Stop button.`,
    });
  };
}

export function cancelPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const outcome = await cancelInvitation(deps.services, serviceActor(actor, 'slash_command'), {
      bulkId: bulkIdOf(args),
    });
    if (!outcome.ok) return void (await refused(args, outcome));
    await args.respond({ response_type: 'ephemeral', replace_original: true, text: 'Cancelled: nobody was invited.' });
  };
}

/** Stop: the job ends within seconds and the progress message says so. */
export function stopPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const outcome = await stopInvitation(deps.services, serviceActor(actor, 'invitation_dm'), {
      bulkId: bulkIdOf(args),
    });
    if (!outcome.ok) return void (await refused(args, outcome));
    await whisper(
      args.respond,
      outcome.wasRunning
        ? 'Stopping: no more invitations go out; the links already sent still work.'
        : 'That invitation is not running any more: nothing changed.',
    );
  };
}

/** Revoke all: the links nobody used stop working; the message shows what is left. */
export function revokeAllPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const bulkId = bulkIdOf(args);
    const outcome = await revokeAll(deps.services, serviceActor(actor, 'invitation_dm'), { bulkId });
    if (!outcome.ok) return void (await refused(args, outcome));
    const progress = await progressOf(deps.services, bulkId);
    if (progress) await args.respond({ replace_original: true, ...bulkProgress(progress) });
    await whisper(
      args.respond,
      `Revoked ${outcome.revoked.toLocaleString('en-US')} unused link${outcome.revoked === 1 ? '' : 's'} of this invitation.`,
    );
  };
}
