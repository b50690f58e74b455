import { isDatabaseUnavailable } from '../db/errors.js';
import type { InFlight } from '../in-flight.js';
import type { Logger } from '../logger.js';
import { setOutcome } from '../request-log.js';
import type { Services } from '../services/index.js';
import type { Account, Actor, AuditSource, Member, Role } from '../services/types.js';
import { noUsableAdmin } from './blocks/messages.js';
import type { Command } from './command/parse.js';

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

export const UNAVAILABLE = 'ChatBees user admin is temporarily unavailable; try again in a minute.';

export function serviceActor(actor: RequestActor, source: AuditSource): Actor {
  return { accountId: actor.account.id, slackUserId: actor.slackUserId, source };
}

export function actorFrom(context: Record<string, unknown>): RequestActor {
  const actor = (context as BotContext).actor;
  if (!actor) throw new Error('permission middleware did not run');
  return actor;
}

export class DeadlineExceeded extends Error {
  constructor() {
    super('deadline exceeded');
    this.name = 'DeadlineExceeded';
  }
}

/** Rejects when `work` has not settled within `ms`; the work itself is not cancelled. */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failed request, logged as what it is: an outage (a warning) or a bug (an error). */
export function logFailure(logger: Logger, err: unknown, what: string, fields: Record<string, unknown> = {}): void {
  const unavailable = isDatabaseUnavailable(err);
  setOutcome(unavailable ? 'unavailable' : 'failed');
  if (unavailable) logger.warn({ ...fields, error: (err as Error).message }, 'database unavailable');
  else logger.error({ ...fields, err }, what);
}

/** The warning shown with someone's role while the account has no AccountAdmin who can act. */
export function accountWarning(deps: SlackDeps, actor: RequestActor): string | undefined {
  return actor.noUsableAdmin ? noUsableAdmin(deps.newAdminHint) : undefined;
}

/** How many AccountAdmins a person is told they can ask. */
export const ADMINS_TO_ASK = 5;

/** Whom a non-member should ask for an invite (none for members), within `deadlineMs`. */
export async function adminsToAsk(deps: SlackDeps, actor: RequestActor, deadlineMs: number): Promise<string[]> {
  if (actor.role) return [];
  return withDeadline(deps.services.members.activeAdmins(actor.account.id, ADMINS_TO_ASK), deadlineMs);
}
