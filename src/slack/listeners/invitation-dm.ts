// The invitation DM's Accept button: Slack signs the press and names who pressed it, so the
// invited person joins without leaving Slack. The DM then says they joined; anyone else who
// presses it (a forwarded message) gets an ephemeral refusal and nothing changes.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { refusalText } from '../../refusal-text.js';
import { setOutcome } from '../../request-log.js';
import { acceptInvitation } from '../../services/operations/accept-invitation.js';
import { invitationAccepted } from '../blocks/dm.js';
import { escapeMrkdwn } from '../blocks/text.js';
import type { RequestActor, SlackDeps } from '../context.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function acceptPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const { body } = args;
    const outcome = await acceptInvitation(deps.services, {
      inviteId: args.action.value ?? '',
      pressedBy: {
        slackUserId: body.user.id,
        teamId: body.user.team_id ?? actor.teamId,
        enterpriseId: body.enterprise?.id ?? null,
      },
    });
    if (!outcome.ok) {
      setOutcome(`refused:${outcome.reason}`);
      await args.respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: escapeMrkdwn(refusalText(outcome.reason)),
      });
      return;
    }
    setOutcome(outcome.alreadyMember ? 'already_member' : 'registered');
    const channel = body.container?.channel_id ?? body.channel?.id;
    const ts = body.container?.message_ts ?? body.message?.ts;
    const message = invitationAccepted(outcome.account, outcome.alreadyMember);
    if (channel && ts) await args.client.chat.update({ channel, ts, ...message });
    else await args.respond({ response_type: 'ephemeral', replace_original: false, text: message.text });
  };
}
