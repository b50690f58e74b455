// The console's invite form: the modal turns into a progress note at once, then into the
// outcome per person (with the link for anyone the DM did not reach). Deny's reason form is
// answered in listeners/access-requests.ts.
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { refusalText } from '../../refusal-text.js';
import { setOutcome } from '../../request-log.js';
import { countInvitation } from '../../services/operations/count-invitation.js';
import { invitePeople, MAX_INVITEES } from '../../services/operations/invite-people.js';
import { confirmInvitation, countsHead, whatIsInvited } from '../blocks/bulk.js';
import {
  CHANNELS_BLOCK,
  CHANNELS_INPUT,
  consoleView,
  INVITEES_BLOCK,
  INVITEES_INPUT,
  inviteResultsView,
  notice,
} from '../blocks/console.js';
import { inviteResults } from '../blocks/invite-results.js';
import { UNAVAILABLE } from '../blocks/messages.js';
import { escapeMrkdwn } from '../blocks/text.js';
import { loadConsole } from '../console-data.js';
import { actorFrom, type BotContext, inviteFailed, logFailure, type SlackDeps, serviceActor } from '../context.js';
import { sendDm } from '../notify.js';
import { checkHandlers, FORMS } from '../operations.js';
import { searchedConsole } from '../read-ahead.js';
import type { Router } from '../router.js';
import { denySubmitted } from './access-requests.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

export function register(router: Router, deps: SlackDeps): void {
  const { services, logger } = deps;
  checkHandlers('form', [FORMS.invitePeople, FORMS.denyRequest, FORMS.console]);
  router.view<ViewSubmitAction>(FORMS.denyRequest, denySubmitted(deps));
  // The console's Search: the same console, narrowed to what the box holds (empty: everyone).
  router.view<ViewSubmitAction>(FORMS.console, async (args: Args) => {
    const actor = actorFrom(args.context);
    try {
      // Its reads were started with the middleware's who-asks read (read-ahead.ts).
      const ahead = (args.context as BotContext).readAhead;
      const shown = searchedConsole(args.body.view.state.values);
      const data = await loadConsole(
        services,
        actor,
        shown,
        undefined,
        ahead?.kind === 'console_search' ? ahead.reads : undefined,
      );
      const view = data ? consoleView(data) : notice('ChatBees users', escapeMrkdwn(refusalText('not_admin')));
      await args.ack({ response_action: 'update', view });
    } catch (err) {
      logFailure(logger, args.context, err, 'console search failed');
      await args.ack({ response_action: 'update', view: notice('Not done', UNAVAILABLE) });
    }
  });
  router.view<ViewSubmitAction>(FORMS.invitePeople, async (args: Args) => {
    const { body, client } = args;
    const values = body.view.state.values;
    const users = [...new Set(values[INVITEES_BLOCK]?.[INVITEES_INPUT]?.selected_users ?? [])];
    const channels = [...new Set(values[CHANNELS_BLOCK]?.[CHANNELS_INPUT]?.selected_conversations ?? [])];
    if ((users.length === 0 && channels.length === 0) || users.length > MAX_INVITEES) {
      await args.ack({
        response_action: 'errors',
        errors: {
          [INVITEES_BLOCK]:
            users.length === 0
              ? 'Pick at least one person or channel.'
              : `Pick at most ${MAX_INVITEES} people at once.`,
        },
      });
      return;
    }
    const sources = channels.map((id) => ({ kind: 'channel' as const, id }));
    await args.ack({
      response_action: 'update',
      view: notice(
        'Invite people',
        sources.length
          ? `Counting the people in ${whatIsInvited(sources, users.length)}…`
          : `Inviting ${users.length} ${users.length === 1 ? 'person' : 'people'}…`,
      ),
    });
    const actor = actorFrom(args.context);
    try {
      if (!(await services.requests.claim(`view:${actor.teamId}:${body.view.id}:${body.view.hash}`))) {
        setOutcome(args.context, 'redelivery_ignored');
        return;
      }
      const who = serviceActor(actor, 'console');
      let invitees = users;
      let head: string | undefined;
      if (sources.length) {
        const counted = await countInvitation(services, who, { sources, users });
        if (!counted.ok || counted.next.kind === 'ask') {
          // Past 50 the admin confirms: the counts go to their DM, where Invite and Cancel work.
          const text = counted.ok
            ? 'I sent you the counts by DM: confirm there.'
            : escapeMrkdwn(refusalText(counted.reason));
          if (counted.ok && counted.next.kind === 'ask') {
            await sendDm(
              client,
              logger,
              actor.slackUserId,
              confirmInvitation(counted.next.bulkId, sources, users.length, counted.counts),
            );
          }
          await client.views.update({ view_id: body.view.id, view: notice('Invite people', text) });
          return;
        }
        invitees = counted.next.users;
        head = countsHead(sources, users.length, counted.counts);
        if (invitees.length === 0) {
          await client.views.update({
            view_id: body.view.id,
            view: notice('Invite people', `${head} Nobody to invite.`),
          });
          return;
        }
      }
      const outcomes = await invitePeople(services, who, {
        users: invitees,
        onFailure: inviteFailed(logger, args.context),
      });
      try {
        await client.views.update({ view_id: body.view.id, view: inviteResultsView(outcomes, head) });
      } catch {
        // The admin closed the modal: the outcome, links included, goes to them by DM instead.
        await sendDm(client, logger, actor.slackUserId, inviteResults(outcomes));
      }
      const rootId = body.view.root_view_id;
      if (rootId && rootId !== body.view.id) {
        const data = await loadConsole(services, actor, {});
        if (data) await client.views.update({ view_id: rootId, view: consoleView(data) }).catch(() => {});
      }
    } catch (err) {
      logFailure(logger, args.context, err, 'invite form failed');
      await client.views.update({ view_id: body.view.id, view: notice('Invite people', UNAVAILABLE) }).catch(() => {});
    }
  });
}
