// One global middleware for every command, button and view submission: resolve who is asking
// (fresh from the database on each request) and refuse admin operations to anyone who is not
// an active AccountAdmin right now. The services check again inside their transactions. A
// search's read goes to the database with the read of who asks (read-ahead.ts): its statement
// checks the admin itself, and its answer is dropped unseen when this middleware refuses.
import type { AnyMiddlewareArgs, Middleware, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { withDeadline } from '../../deadline.js';
import { recordOf, setOutcome } from '../../request-log.js';
import type { ActorContext } from '../../services/accounts.js';
import { type Account, type AuditSource, isAdmin, type Role } from '../../services/types.js';
import { notice } from '../blocks/console.js';
import { type Message, plain, roleNeeded, UNAVAILABLE } from '../blocks/messages.js';
import { type Command, commandOperation, parseCommand } from '../command/parse.js';
import { type BotContext, logFailure, type RequestActor, type SlackDeps, whisper } from '../context.js';
import { actorReadSince } from '../installation-store.js';
import { buttonOperation, eventOperation, formOperation } from '../operations.js';
import { startReadAhead } from '../read-ahead.js';

type Body = {
  type?: string;
  command?: string;
  text?: string;
  team_id?: string;
  enterprise_id?: string;
  user_id?: string;
  team?: { id?: string } | null;
  enterprise?: { id?: string } | null;
  user?: { id?: string; team_id?: string };
  actions?: Array<{ action_id?: string }>;
  view?: { id?: string; type?: string; hash?: string; callback_id?: string; app_installed_team_id?: string };
  trigger_id?: string;
  container?: { type?: string };
  response_url?: string;
  event?: { type?: string; user?: string };
};

interface Asked {
  /** For the refusal message. */
  name: string;
  /** For the audit log. */
  audit: string;
  admin: boolean;
  command?: Command;
}

/** What a request asks to do, from the operations table; undefined for what needs no check. */
function operationOf(body: Body): Asked | undefined {
  if (body.command) {
    const command = parseCommand(body.text);
    const operation = commandOperation(command);
    const word =
      command.kind === 'invalid'
        ? command.name
        : command.kind === 'invite_link'
          ? 'invite'
          : command.kind === 'requests_channel'
            ? 'requests channel'
            : command.kind;
    const name = word && word !== 'console' ? `\`/chatbees-users ${word}\`` : '`/chatbees-users`';
    return { name, audit: operation?.id ?? 'command.unknown', admin: operation?.who === 'admin', command };
  }
  if (body.type === 'block_actions') {
    // A button nobody handles is refused to all but AccountAdmins, and acked and ignored for them.
    const operation = buttonOperation(body.actions?.[0]?.action_id ?? '');
    return {
      name: operation?.label ?? 'This',
      audit: operation?.id ?? 'button.unknown',
      admin: operation?.who !== 'everyone',
    };
  }
  // Opening the App Home: everyone may, and the listener needs to know who they are.
  const event = body.type === 'event_callback' ? eventOperation(body.event?.type ?? '') : undefined;
  if (event) return { name: event.label, audit: event.id, admin: event.who === 'admin' };
  if (body.type === 'view_submission') {
    const operation = formOperation(body.view?.callback_id ?? '');
    return {
      name: operation?.label ?? 'This',
      audit: operation?.id ?? 'form.unknown',
      admin: operation?.who !== 'everyone',
    };
  }
  return undefined;
}

/** The surface a request came from, for the audit log. */
function sourceOf(body: Body): AuditSource {
  if (body.command) return 'slash_command';
  if (body.view?.type === 'home') return 'app_home';
  // A button in a message: the invitation DMs'.
  return body.container?.type === 'message' ? 'invitation_dm' : 'console';
}

type Args = AnyMiddlewareArgs & {
  context: Record<string, unknown>;
  client: WebClient;
  next: () => Promise<void>;
  ack?: (response?: unknown) => Promise<void>;
  respond?: RespondFn;
};

/** Answers a refused or failed request in the way its kind allows. */
async function answer(args: Args, body: Body, message: Message): Promise<void> {
  if (body.command) {
    await args.ack?.({ response_type: 'ephemeral', ...message });
    return;
  }
  // Events were acked on arrival and have nobody to answer.
  if (body.type === 'event_callback') return;
  if (body.type === 'view_submission') {
    await args.ack?.({ response_action: 'update', view: notice('Not done', message.text) });
    return;
  }
  await args.ack?.();
  if (body.view?.type === 'home' && body.trigger_id) {
    // A Home tab cannot become a modal: the answer opens as one.
    await args.client.views.open({ trigger_id: body.trigger_id, view: notice('Not done', message.text) });
  } else if (body.container?.type === 'view' && body.view?.id) {
    await args.client.views.update({ view_id: body.view.id, view: notice('Not done', message.text) });
  } else if (body.response_url && args.respond) {
    await whisper(args.respond, message.text);
  }
}

/**
 * The account a request is for and who asks in it: as multi-workspace mode read them with the
 * installation in this request (no second read), else read now, together with the read the
 * request will need after it (`ahead`, when it has one: read-ahead.ts).
 */
async function whoAsks(
  deps: SlackDeps,
  key: { teamId?: string; enterpriseId?: string; isEnterpriseInstall: boolean },
  slackUserId: string | undefined,
  arrived: number | undefined,
  ahead: (account: Account, slackUserId: string) => void,
): Promise<{ account: Account | undefined; resolved: ActorContext | undefined }> {
  const early = slackUserId && arrived !== undefined ? actorReadSince(key, slackUserId, arrived) : null;
  if (early) {
    const actor = early.actor as ActorContext | undefined;
    return { account: actor?.account, resolved: actor };
  }
  const account = await deps.accountFor(key.teamId, key.enterpriseId, key.isEnterpriseInstall);
  if (account && slackUserId) ahead(account, slackUserId);
  const resolved =
    account && slackUserId ? await deps.services.accounts.resolveActor(account.id, slackUserId) : undefined;
  return { account, resolved };
}

export function permissionMiddleware(deps: SlackDeps): Middleware<AnyMiddlewareArgs> {
  const { services, logger } = deps;
  return async (rawArgs) => {
    const args = rawArgs as unknown as Args;
    const body = args.body as Body;
    const operation = operationOf(body);
    if (!operation) {
      await args.next();
      return;
    }
    const context = args.context as Record<string, unknown> &
      BotContext & { teamId?: string; enterpriseId?: string; userId?: string };
    const teamId = context.teamId ?? body.team_id ?? body.team?.id ?? body.user?.team_id;
    const enterpriseId = context.enterpriseId ?? body.enterprise_id ?? body.enterprise?.id ?? undefined;
    const slackUserId = context.userId ?? body.user_id ?? body.user?.id ?? body.event?.user;
    const ackBy = Date.now() + deps.ackDeadlineMs;
    context.ackBy = ackBy;
    const left = () => Math.max(100, ackBy - Date.now());
    try {
      const key = { teamId, enterpriseId, isEnterpriseInstall: context.isEnterpriseInstall === true };
      const { account, resolved } = await withDeadline(
        whoAsks(deps, key, slackUserId, recordOf(args.context)?.arrived, (account, user) => {
          // Dropped unseen if the request is refused below.
          context.readAhead = startReadAhead(services, body, operation.command, account, user);
        }),
        left(),
      );
      if (!account || !slackUserId || !teamId) {
        setOutcome(args.context, 'refused:other_workspace');
        await answer(
          args,
          body,
          plain('This ChatBees user admin app serves another Slack workspace; nothing was changed.'),
        );
        return;
      }
      const member = resolved?.member ?? null;
      const role: Role | null = member?.status === 'active' ? member.role : null;
      const actor: RequestActor = {
        account,
        slackUserId,
        teamId,
        member,
        role,
        noUsableAdmin: resolved?.noUsableAdmin === true,
      };
      context.actor = actor;
      context.command = operation.command;

      if (operation.admin && !isAdmin(role)) {
        const reason = role === null ? 'not_member' : 'not_admin';
        setOutcome(args.context, `refused:${reason}`);
        // The refusal is answered first; recording it must not hold up the answer, and happens
        // even when Slack would not take the answer.
        try {
          await answer(args, body, roleNeeded(role, operation.name));
        } finally {
          await services.audit
            .recordRefusal(
              { accountId: account.id, slackUserId, source: sourceOf(body) },
              { operation: operation.audit, reason },
            )
            .catch((err: unknown) => logger.warn({ reqId: recordOf(args.context)?.id, err }, 'refusal not recorded'));
        }
        return;
      }
    } catch (err) {
      logFailure(logger, args.context, err, 'could not resolve the actor');
      await answer(args, body, plain(UNAVAILABLE)).catch(() => {});
      return;
    }
    await args.next();
  };
}
