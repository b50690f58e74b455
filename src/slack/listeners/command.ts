// `/chatbees-users …`: reads are answered in the ack itself; changes are acked at once, done
// after, and answered through response_url.
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { withDeadline } from '../../deadline.js';
import { refusalText } from '../../refusal-text.js';
import { recordOf, setOutcome } from '../../request-log.js';
import { countInvitation } from '../../services/operations/count-invitation.js';
import { exportData } from '../../services/operations/export-data.js';
import { invitePeople } from '../../services/operations/invite-people.js';
import { listInvites } from '../../services/operations/list-invites.js';
import { listRequests } from '../../services/operations/list-requests.js';
import { readAudit } from '../../services/operations/read-audit.js';
import { requestAccess } from '../../services/operations/request-access.js';
import { setRequestsChannel, showRequestsChannel } from '../../services/operations/requests-channel.js';
import { shareLink } from '../../services/operations/share-link.js';
import { type Actor, isAdmin } from '../../services/types.js';
import { confirmInvitation, countsHead, whatIsInvited } from '../blocks/bulk.js';
import { consoleView } from '../blocks/console.js';
import { inviteResults } from '../blocks/invite-results.js';
import * as messages from '../blocks/messages.js';
import { UNAVAILABLE } from '../blocks/messages.js';
import * as outcomes from '../blocks/outcomes.js';
import * as requestBlocks from '../blocks/requests.js';
import { escapeMrkdwn } from '../blocks/text.js';
import * as changes from '../changes.js';
import type { Command } from '../command/parse.js';
import { loadConsole } from '../console-data.js';
import {
  actorFrom,
  type BotContext,
  inviteFailed,
  logFailure,
  type RequestActor,
  type SlackDeps,
  serviceActor,
  timeLeft,
  whisper,
} from '../context.js';
import { slackError } from '../notify.js';
import { commandPage, LIST_PAGE_SIZE } from '../read-ahead.js';
import type { Router } from '../router.js';
import { accountWarning, asking } from '../who-to-ask.js';

export const COMMAND = '/chatbees-users';
/** Pending invites a page of `invites` shows, as many as `list` shows members. */
export const INVITES_PAGE_SIZE = LIST_PAGE_SIZE;

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export function register(router: Router, deps: SlackDeps): void {
  router.command(COMMAND, async (args) => {
    const command = (args.context as BotContext).command ?? { kind: 'help' };
    const actor = actorFrom(args.context);
    try {
      await handle(args, deps, actor, command);
    } catch (err) {
      logFailure(deps.logger, args.context, err, 'command failed', { command: command.kind });
      // Acked already for changes; for reads this is the answer. Never a stack trace.
      await args
        .ack({ response_type: 'ephemeral', text: UNAVAILABLE })
        .catch(() => args.respond({ response_type: 'ephemeral', text: UNAVAILABLE }).catch(() => {}));
    }
  });
}

type CommandOf<K extends Command['kind']> = Extract<Command, { kind: K }>;

/** What a handler has to work with: the request, who asks (as Slack and as the domain see them). */
interface Asked {
  args: Args;
  deps: SlackDeps;
  actor: RequestActor;
  who: Actor;
  /** Database work before the ack, within the request's budget. */
  read<T>(work: Promise<T>): Promise<T>;
}

/** Reads and quick answers: answered in the ack itself. */
const READS: {
  [K in Exclude<Command['kind'], keyof typeof CHANGES | 'console'>]: (
    asked: Asked,
    command: CommandOf<K>,
  ) => Promise<messages.Message>;
} = {
  help: async ({ actor }) => messages.help(actor.role),
  whoami: async ({ args, deps, actor }) =>
    messages.whoami(
      actor.account,
      actor.member,
      await asking(deps, actor, timeLeft(args.context, deps.ackDeadlineMs)),
      accountWarning(deps, actor),
    ),
  unknown: async ({ actor }, command) => messages.unknownCommand(command.word, actor.role),
  invalid: async (_, command) => messages.plain(command.message),
  invite_link: async ({ deps, actor, who, read }, command) =>
    outcomes.sharedLink(actor.account, await read(shareLink(deps.services, who, command))),
  list: async (asked, command) => memberPage(asked, command),
  find: async (asked, command) => memberPage(asked, command),
  invites: async ({ deps, actor, who, read }, command) =>
    outcomes.pendingInvites(
      actor.account,
      await read(listInvites(deps.services, who, { limit: INVITES_PAGE_SIZE, page: command.page })),
    ),
  audit: async ({ deps, actor, who, read }, command) =>
    outcomes.auditLog(actor.account, await read(readAudit(deps.services, who, { limit: command.limit }))),
  requests: async ({ deps, actor, who, read }) =>
    requestBlocks.requestsList(actor.account, await read(listRequests(deps.services, who))),
};

/** `list` and `find`: a page of members, all or narrowed. */
async function memberPage(
  { args, deps, actor, who, read }: Asked,
  command: CommandOf<'list'> | CommandOf<'find'>,
): Promise<messages.Message> {
  // A search's page was started with the middleware's who-asks read (read-ahead.ts).
  const ahead = (args.context as BotContext).readAhead;
  const page = await read(ahead?.kind === 'command_page' ? ahead.page : commandPage(deps.services, who, command));
  return outcomes.memberList(actor.account, page, LIST_PAGE_SIZE, command.kind);
}

/** Changes: acked at once (with what the ack says), done once, answered through response_url. */
const CHANGES: {
  [K in 'invite' | 'role' | 'remove' | 'revoke' | 'request' | 'requests_channel' | 'export']: {
    ack?(command: CommandOf<K>): string;
    run(asked: Asked, command: CommandOf<K>): Promise<string | messages.Message>;
  };
} = {
  invite: {
    ack: ({ users, sources }) =>
      sources
        ? `Counting the people in ${whatIsInvited(sources, users.length)}…`
        : `Inviting ${users.length} ${users.length === 1 ? 'person' : 'people'}…`,
    run: async ({ args, deps, who }, { users, sources }) => {
      if (!sources)
        return inviteResults(
          await invitePeople(deps.services, who, { users, onFailure: inviteFailed(deps.logger, args.context) }),
        ).text;
      // Channels and groups: counts first; few enough are invited at once, more asked about.
      const counted = await countInvitation(deps.services, who, { sources, users });
      if (!counted.ok) return escapeMrkdwn(refusalText(counted.reason));
      const { counts, next } = counted;
      if (next.kind === 'ask') return confirmInvitation(next.bulkId, sources, users.length, counts);
      const head = countsHead(sources, users.length, counts);
      if (next.users.length === 0) return `${head} Nobody to invite.`;
      const sent = await invitePeople(deps.services, who, {
        users: next.users,
        onFailure: inviteFailed(deps.logger, args.context),
      });
      return `${head}\n${inviteResults(sent).text}`;
    },
  },
  role: { run: async ({ deps, who }, input) => (await changes.roleChange(deps.services, who, input)).text },
  remove: {
    run: async ({ deps, actor, who }, input) => (await changes.removal(deps.services, who, actor.account, input)).text,
  },
  revoke: { run: async ({ deps, who }, input) => (await changes.revocation(deps.services, who, input)).text },
  request: {
    run: async ({ deps, actor }, { reason }) =>
      outcomes.accessRequested(
        await requestAccess(deps.services, { account: actor.account, slackUserId: actor.slackUserId, reason }),
      ),
  },
  // A file to their DM: a few seconds for 100,000 members, so answered through response_url.
  export: {
    ack: (command) =>
      command.what === 'members'
        ? 'Exporting the members: the file will be in your DM from the app in a moment…'
        : `Exporting the audit log's last ${command.days} days: the file will be in your DM from the app in a moment…`,
    run: async ({ deps, who }, command) => outcomes.exported(await exportData(deps.services, who, command)),
  },
  // Choosing a channel posts in it (Slack's answer says whether the app is there): a change.
  requests_channel: {
    run: async ({ deps, who }, { channel }) =>
      requestBlocks.requestsChannel(
        channel === undefined
          ? await showRequestsChannel(deps.services, who)
          : await setRequestsChannel(deps.services, who, { channel }),
      ),
  },
};

function isChange(command: Command): command is CommandOf<keyof typeof CHANGES> {
  return command.kind in CHANGES;
}

async function handle(args: Args, deps: SlackDeps, actor: RequestActor, command: Command): Promise<void> {
  const asked: Asked = {
    args,
    deps,
    actor,
    who: serviceActor(actor, 'slash_command'),
    read: (work) => withDeadline(work, timeLeft(args.context, deps.ackDeadlineMs)),
  };
  if (command.kind === 'console') return openConsole(args, deps, actor);
  if (isChange(command)) return change(asked, command);
  const answer = (READS[command.kind] as (asked: Asked, command: Command) => Promise<messages.Message>)(asked, command);
  await args.ack({ response_type: 'ephemeral', ...(await answer) });
}

async function openConsole(args: Args, deps: SlackDeps, actor: RequestActor): Promise<void> {
  if (!isAdmin(actor.role)) {
    const said = messages.whoami(
      actor.account,
      actor.member,
      await asking(deps, actor, timeLeft(args.context, deps.ackDeadlineMs)),
      accountWarning(deps, actor),
    );
    // A member is told what the console is for; someone who is not one can ask for access here.
    const hint = actor.role ? '\nAccountAdmins manage members here; `/chatbees-users help` shows what you can do.' : '';
    await args.ack({ response_type: 'ephemeral', ...said, text: `${said.text}${hint}` });
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
async function change(asked: Asked, command: CommandOf<keyof typeof CHANGES>): Promise<void> {
  const { args, deps, actor } = asked;
  const how = CHANGES[command.kind] as {
    ack?(command: Command): string;
    run(asked: Asked, command: Command): Promise<string | messages.Message>;
  };
  const said = how.ack?.(command);
  await (said ? args.ack({ response_type: 'ephemeral', text: said }) : args.ack());
  const key = `command:${actor.teamId}:${args.command.trigger_id}`;
  if (!(await deps.services.requests.claim(key))) {
    setOutcome(args.context, 'redelivery_ignored');
    deps.logger.info({ reqId: recordOf(args.context)?.id, command: command.kind }, 'redelivered command ignored');
    return;
  }
  const answer = await how.run(asked, command);
  if (typeof answer === 'string') await whisper(args.respond, answer);
  else await args.respond({ response_type: 'ephemeral', replace_original: false, ...answer });
}
