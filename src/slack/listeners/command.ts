// `/chatbees-users …`: reads are answered in the ack itself; changes are acked at once, done
// after, and answered through response_url.
import type { AllMiddlewareArgs, App, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { adminRefusalText, refusalText } from '../../refusal-text.js';
import { setOutcome } from '../../request-log.js';
import { consoleView } from '../blocks/console.js';
import * as dm from '../blocks/dm.js';
import { capText, inviteResults } from '../blocks/invite-results.js';
import * as messages from '../blocks/messages.js';
import { escapeMrkdwn } from '../blocks/text.js';
import type { Command } from '../command/parse.js';
import { loadConsole } from '../console-data.js';
import {
  accountWarning,
  actorFrom,
  adminsToAsk,
  type BotContext,
  logFailure,
  type RequestActor,
  type SlackDeps,
  serviceActor,
  timeLeft,
  UNAVAILABLE,
  withDeadline,
} from '../context.js';
import { invitePeople } from '../invite-people.js';
import { sendDm, slackError } from '../notify.js';

export const COMMAND = '/chatbees-users';
export const LIST_PAGE_SIZE = 25;

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export function register(app: App, deps: SlackDeps): void {
  app.command(COMMAND, async (args) => {
    const command = (args.context as BotContext).command ?? { kind: 'help' };
    const actor = actorFrom(args.context);
    try {
      await handle(args, deps, actor, command);
    } catch (err) {
      logFailure(deps.logger, err, 'command failed', { command: command.kind });
      // Acked already for changes; for reads this is the answer. Never a stack trace.
      await args
        .ack({ response_type: 'ephemeral', text: UNAVAILABLE })
        .catch(() => args.respond({ response_type: 'ephemeral', text: UNAVAILABLE }).catch(() => {}));
    }
  });
}

async function handle(args: Args, deps: SlackDeps, actor: RequestActor, command: Command): Promise<void> {
  const { services } = deps;
  const who = serviceActor(actor, 'slash_command');
  const read = <T>(work: Promise<T>) => withDeadline(work, timeLeft(args.context, deps.ackDeadlineMs));
  const reply = (message: messages.Message) => args.ack({ response_type: 'ephemeral', ...message });

  switch (command.kind) {
    case 'help':
      return reply(messages.help(actor.role));
    case 'whoami':
      return reply(
        messages.whoami(
          actor.account,
          actor.member,
          await adminsToAsk(deps, actor, timeLeft(args.context, deps.ackDeadlineMs)),
          accountWarning(deps, actor),
        ),
      );
    case 'unknown':
      return reply(messages.unknownCommand(command.word, actor.role));
    case 'invalid':
      return reply(messages.plain(command.message));
    case 'invite_link': {
      const created = await read(
        services.invites.create(who, {
          forSlackUserId: null,
          ttlSeconds: command.ttlSeconds,
          maxUses: command.maxUses ?? null,
        }),
      );
      if (!created.ok) {
        if (created.reason === 'invite_limit' || created.reason === 'invitee_invite_limit') {
          return reply({ text: `Not made: ${capText({ ...created, cap: created.reason })}.` });
        }
        return reply(messages.plain(adminRefusalText(created.reason)));
      }
      return reply(messages.sharedLink(actor.account, created.invite, created.url));
    }
    case 'console':
      return openConsole(args, deps, actor);
    case 'list': {
      const page = await read(services.members.list(who, { limit: LIST_PAGE_SIZE, page: command.page }));
      return reply(page.ok ? messages.memberList(actor.account, page, LIST_PAGE_SIZE) : messages.refusal(page.reason));
    }
    case 'invites': {
      const pending = await read(services.invites.listPending(who, { limit: 101 }));
      return reply(
        pending.ok ? messages.pendingInvites(actor.account, pending.invites, 100) : messages.refusal(pending.reason),
      );
    }
    case 'audit': {
      const log = await read(services.audit.latest(who, command.limit));
      return reply(log.ok ? messages.auditLog(actor.account, log.entries) : messages.refusal(log.reason));
    }
    case 'invite':
    case 'role':
    case 'remove':
    case 'revoke':
      return change(args, deps, actor, command);
  }
}

async function openConsole(args: Args, deps: SlackDeps, actor: RequestActor): Promise<void> {
  if (actor.role !== 'AccountAdmin') {
    const text = messages.whoami(
      actor.account,
      actor.member,
      await adminsToAsk(deps, actor, timeLeft(args.context, deps.ackDeadlineMs)),
      accountWarning(deps, actor),
    ).text;
    const hint = actor.role ? '\nAccountAdmins manage members here; `/chatbees-users help` shows what you can do.' : '';
    await args.ack({ response_type: 'ephemeral', text: `${text}${hint}` });
    return;
  }
  const data = await withDeadline(loadConsole(deps.services, actor, {}), timeLeft(args.context, deps.ackDeadlineMs));
  if (!data) {
    await args.ack({ response_type: 'ephemeral', text: escapeMrkdwn(refusalText('not_admin')) });
    return;
  }
  // The trigger_id is good for about 3 s: ack, then open straight away.
  await args.ack();
  try {
    await args.client.views.open({ trigger_id: args.command.trigger_id, view: consoleView(data) });
  } catch (err) {
    await args.respond({
      response_type: 'ephemeral',
      text: `I could not open the console (${escapeMrkdwn(slackError(err))}). \`/chatbees-users list\` and \`/chatbees-users invites\` work too.`,
    });
  }
}

/** Changes: ack now, act once (Slack may deliver the same request again), answer after. */
async function change(
  args: Args,
  deps: SlackDeps,
  actor: RequestActor,
  command: Extract<Command, { kind: 'invite' | 'role' | 'remove' | 'revoke' }>,
): Promise<void> {
  const { services, logger } = deps;
  if (command.kind === 'invite') {
    const n = command.users.length;
    await args.ack({ response_type: 'ephemeral', text: `Inviting ${n} ${n === 1 ? 'person' : 'people'}…` });
  } else {
    await args.ack();
  }
  const key = `command:${actor.teamId}:${args.command.trigger_id}`;
  if (!(await services.requests.claim(key))) {
    setOutcome('redelivery_ignored');
    logger.info({ command: command.kind }, 'redelivered command ignored');
    return;
  }
  const who = serviceActor(actor, 'slash_command');
  const respond = (text: string) => args.respond({ response_type: 'ephemeral', replace_original: false, text });
  const account = actor.account;

  switch (command.kind) {
    case 'invite': {
      const outcomes = await invitePeople({ client: args.client, services, logger, account }, who, command.users);
      await respond(inviteResults(outcomes).text);
      return;
    }
    case 'role': {
      const result = await services.members.changeRole(who, command.user, command.role);
      if (!result.ok) return void (await respond(messages.changeRefused(result.reason)));
      if (!result.changed) return void (await respond(messages.roleUnchanged(command.user, command.role)));
      const told = await sendDm(
        args.client,
        logger,
        command.user,
        dm.roleChanged(account, actor.slackUserId, command.role, result.revokedInvites),
      );
      await respond(messages.roleChangeDone(command.user, command.role, result.revokedInvites, told));
      return;
    }
    case 'remove': {
      const result = await services.members.remove(who, command.user);
      if (!result.ok) return void (await respond(messages.changeRefused(result.reason)));
      const told = await sendDm(args.client, logger, command.user, dm.removed(account, actor.slackUserId));
      await respond(messages.removalDone(account, command.user, result, told));
      return;
    }
    case 'revoke': {
      const result = await services.invites.revoke(who, command.inviteId);
      if (!result.ok) return void (await respond(messages.changeRefused(result.reason)));
      await respond(messages.revokeDone(result.invite));
      return;
    }
  }
}
