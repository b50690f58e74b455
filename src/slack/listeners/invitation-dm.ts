// The invitation DM's Accept button: Slack signs the press and names who pressed it, so the
// invited person joins without leaving Slack. The DM then says they joined; anyone else who
// presses it (a forwarded message) gets an ephemeral refusal and nothing changes.
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { refusalText } from '../../refusal-text.js';
import { setOutcome } from '../../request-log.js';
import { acceptInvitation } from '../../services/operations/accept-invitation.js';
import { askAgain, inviteAgain } from '../../services/operations/ask-again.js';
import { invitationAccepted } from '../blocks/dm.js';
import { inviteResults } from '../blocks/invite-results.js';
import { escapeMrkdwn, mention } from '../blocks/text.js';
import { type RequestActor, type SlackDeps, serviceActor } from '../context.js';

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

/** The message a button was pressed in, when Slack says (a DM): to change it in place. */
function pressedIn(args: Args): { channel: string; ts: string } | undefined {
  const { body } = args;
  const channel = body.container?.channel_id ?? body.channel?.id;
  const ts = body.container?.message_ts ?? body.message?.ts;
  return channel && ts ? { channel, ts } : undefined;
}

/** An answer only the presser sees. */
function whisper(args: Args, text: string) {
  return args.respond({ response_type: 'ephemeral', replace_original: false, text });
}

/** Ask for a new invitation, in an expired invitation's DM. */
export function askAgainPressed(deps: SlackDeps) {
  return async (args: Args): Promise<void> => {
    const outcome = await askAgain(deps.services, { inviteId: args.action.value ?? '', pressedBy: args.body.user.id });
    if (!outcome.ok) {
      setOutcome(`refused:${outcome.reason}`);
      const text =
        outcome.reason === 'invite_used'
          ? 'You asked already; the AccountAdmin has your request.'
          : escapeMrkdwn(refusalText(outcome.reason));
      return void (await whisper(args, text));
    }
    const text = outcome.told.ok
      ? `I asked ${mention(outcome.admin)} for a new invitation; it will come here as a new message.`
      : `I could not reach ${mention(outcome.admin)}; ask an AccountAdmin for a new invitation.`;
    const at = pressedIn(args);
    if (at)
      await args.client.chat.update({ ...at, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
    else await whisper(args, text);
  };
}

/** Invite again, in the DM of the admin whose invitation expired. */
export function inviteAgainPressed(deps: SlackDeps) {
  return async (args: Args, actor: RequestActor): Promise<void> => {
    const outcome = await inviteAgain(deps.services, serviceActor(actor, 'invitation_dm'), {
      inviteId: args.action.value ?? '',
    });
    if ('ok' in outcome) return void (await whisper(args, escapeMrkdwn(refusalText(outcome.reason))));
    const text = inviteResults([outcome]).text;
    const at = pressedIn(args);
    if (at)
      await args.client.chat.update({ ...at, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
    else await whisper(args, text);
  };
}
