// What every Slack listener shares: who asks (as the permission middleware resolved them), the
// listeners' dependencies, the request's time budget, and how a failure is logged.
import type { RespondFn } from '@slack/bolt';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { InFlight } from '../in-flight.js';
import type { Logger } from '../logger.js';
import { recordOf, setOutcome } from '../request-log.js';
import type { Services } from '../services/index.js';
import type { Account, Actor, AuditSource, Member, Role } from '../services/types.js';
import type { Command } from './command/parse.js';
import type { ReadAhead } from './read-ahead.js';

/** Who sent a Slack request, as the permission middleware resolved it for this request. */
export interface RequestActor {
  account: Account;
  slackUserId: string;
  teamId: string;
  /** Their member record, active or removed; null if they never registered. */
  member: Member | null;
  /** Their role while an active member, else null. */
  role: Role | null;
  /** The account's AccountAdmins are all deactivated in Slack. */
  noUsableAdmin?: boolean;
}

/** What the middleware leaves in Bolt's context for the listeners. */
export interface BotContext {
  actor?: RequestActor;
  command?: Command;
  /** A search's read, started with who-asks (read-ahead.ts). */
  readAhead?: ReadAhead;
  /** When database work before the ack must be done by (epoch ms): one budget per request. */
  ackBy?: number;
}

/** Time left of the request's budget for work before its ack (never less than 100 ms). */
export function timeLeft(context: Record<string, unknown>, fallbackMs: number): number {
  const ackBy = (context as BotContext).ackBy;
  return ackBy === undefined ? fallbackMs : Math.max(100, ackBy - Date.now());
}

export interface SlackDeps {
  services: Services;
  logger: Logger;
  inFlight: InFlight;
  /**
   * The account a Slack team (or Enterprise Grid org) belongs to, if this app serves it;
   * `isEnterpriseInstall` is Bolt's context's: whether the app is installed org-wide there.
   */
  accountFor(
    teamId: string | undefined,
    enterpriseId: string | undefined,
    isEnterpriseInstall: boolean,
  ): Promise<Account | undefined>;
  /** How long database work before an ack may take before we answer "unavailable". */
  ackDeadlineMs: number;
  /** How a new AccountAdmin is named when none can act (INITIAL_ADMINS, or installing again). */
  newAdminHint: string;
}

export function serviceActor(actor: RequestActor, source: AuditSource): Actor {
  return { accountId: actor.account.id, slackUserId: actor.slackUserId, source };
}

export function actorFrom(context: Record<string, unknown>): RequestActor {
  const actor = (context as BotContext).actor;
  if (!actor) throw new Error('permission middleware did not run');
  return actor;
}

/**
 * A failed request (its Bolt `context`), logged as what it is: an outage (a warning) or a bug
 * (an error), with the request's id.
 */
export function logFailure(
  logger: Logger,
  context: object,
  err: unknown,
  what: string,
  fields: Record<string, unknown> = {},
): void {
  const unavailable = isDatabaseUnavailable(err);
  setOutcome(context, unavailable ? 'unavailable' : 'failed');
  const reqId = recordOf(context)?.id;
  if (unavailable) logger.warn({ reqId, ...fields, error: (err as Error).message }, 'database unavailable');
  else logger.error({ reqId, ...fields, err }, what);
}

/** A failed invitation of one person in a request (its Bolt `context`), logged; the others go on. */
export function inviteFailed(logger: Logger, context: object): (user: string, err: unknown) => void {
  return (user, err) => logFailure(logger, context, err, 'invite failed', { invitee: user });
}

/** An answer only the person who acted sees, after the ack (through response_url). */
export function whisper(respond: RespondFn, text: string): Promise<unknown> {
  return respond({ response_type: 'ephemeral', replace_original: false, text });
}
