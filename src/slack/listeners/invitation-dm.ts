// The buttons of invitation DMs. Accept: Slack signs the press and names who pressed it, so the
// invited person joins without leaving Slack, and the DM says so; anyone else who presses it (a
// forwarded message) gets an ephemeral refusal and nothing changes. Ask for a new invitation (an
// expired one's DM) and Invite again (in the inviting admin's DM).
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { refusalText } from '../../refusal-text.js';
import { recordOf, setOutcome } from '../../request-log.js';
import { acceptInvitation } from '../../services/operations/accept-invitation.js';
import { askAgain, inviteAgain } from '../../services/operations/ask-again.js';
import { invitationAccepted } from '../blocks/dm.js';
import { inviteResults } from '../blocks/invite-results.js';
import { escapeMrkdwn, mention } from '../blocks/text.js';
import { type RequestActor, type SlackDeps, serviceActor, whisper } from '../context.js';
import { slackError } from '../notify.js';

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
      setOutcome(args.context, `refused:${outcome.reason}`);
      await args.respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: escapeMrkdwn(refusalText(outcome.reason)),
      });
      return;
    }
    setOutcome(args.context, outcome.alreadyMember ? 'already_member' : 'registered');
    // A second press by whoever joined through this very invitation reads as the first did.
    const joinedHere = !outcome.alreadyMember || outcome.member.inviteId === outcome.invite.id;
    await answerInPlace(args, deps, invitationAccepted(outcome.account, !joinedHere));
  };
}

/**
 * The pressed message, changed to `message`; when Slack will not change it, the presser is told
 * privately instead: what was done is never reported as not done.
 */
async function answerInPlace(args: Args, deps: SlackDeps, message: { text: string; blocks?: KnownBlock[] }) {
  const at = pressedIn(args);
  if (at) {
    try {
      await args.client.chat.update({ ...at, ...message });
      return;
    } catch (err) {
      deps.logger.warn({ reqId: recordOf(args.context)?.id, error: slackError(err) }, 'pressed message not changed');
    }
  }
  await whisper(args.respond, message.text);
}

/** The message a button was pressed in, when Slack says (a DM): to change it in place. */
function pressedIn(args: Args): { channel: string; ts: string } | undefined {
  const { body } = args;
  const channel = body.container?.channel_id ?? body.channel?.id;
  const ts = body.container?.message_ts ?? body.message?.ts;
  return channel && ts ? { channel, ts } : undefined;
}

/** Ask for a new invitation, in an expired invitation's DM. */
export function askAgainPressed(deps: SlackDeps) {
  return async (args: Args): Promise<void> => {
    const outcome = await askAgain(deps.services, { inviteId: args.action.value ?? '', pressedBy: args.body.user.id });
    if (!outcome.ok) {
      setOutcome(args.context, `refused:${outcome.reason}`);
      const text =
        outcome.reason === 'invite_used'
          ? 'You asked already; the AccountAdmin has your request.'
          : escapeMrkdwn(refusalText(outcome.reason));
      return void (await whisper(args.respond, text));
    }
    const text = outcome.told.ok
      ? `I asked ${mention(outcome.admin)} for a new invitation; it will come here as a new message.`
      : `I could not reach ${mention(outcome.admin)}; ask an AccountAdmin for a new invitation.`;
    await answerInPlace(args, deps, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  };
}

/** Invite again, in the DM of the admin whose invitation expired. */
export function inviteAgainPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const outcome = await inviteAgain(deps.services, serviceActor(actor, 'invitation_dm'), {
      inviteId: args.action.value ?? '',
    });
    if ('ok' in outcome) {
      const text =
        outcome.reason === 'invite_used'
          ? 'They were invited again already.'
          : escapeMrkdwn(refusalText(outcome.reason));
      return void (await whisper(args.respond, text));
    }
    const text = inviteResults([outcome]).text;
    await answerInPlace(args, deps, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  };
}
