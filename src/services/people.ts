// Who may be in an account, as Slack describes people: the rules, free of Slack's types. What
// Slack says about a person reaches the domain through the Directory the Slack layer implements.
import type { Account, Refused } from './types.js';
import { refuse } from './types.js';

/** A Slack user as the rules need them. */
export interface SlackPerson {
  slackUserId: string;
  /** Their home workspace. */
  teamId: string | null;
  /** Their Enterprise Grid org, if any. */
  enterpriseId: string | null;
  deleted: boolean;
  /** A bot, an app user or Slackbot. */
  bot: boolean;
  /** A single- or multi-channel guest of the workspace. */
  guest: boolean;
  displayName: string | null;
  email: string | null;
}

/**
 * Slack's answer about a person: who they are; or that Slack knows no such person, that the app
 * is not installed there (no token to ask with), or that no answer came in time.
 */
export type Lookup =
  | { found: true; person: SlackPerson }
  | { found: false; why: 'unknown' | 'not_installed' | 'unavailable' };

/** What the domain asks Slack about people, at the moment a rule depends on it. */
export interface Directory {
  /** The person as the account's workspace sees them now; within a bounded time. */
  lookup(account: Account, slackUserId: string): Promise<Lookup>;
}

/** Whether someone of `teamId` (in org `enterpriseId`) is a person of the account's workspace or org. */
export function belongsTo(account: Account, who: { teamId: string | null; enterpriseId: string | null }): boolean {
  if (account.slackTeamId && who.teamId === account.slackTeamId) return true;
  return Boolean(account.slackEnterpriseId && who.enterpriseId === account.slackEnterpriseId);
}

/**
 * Whether a person may join the account: never a bot, someone deactivated in Slack or someone
 * of another workspace or org; a guest only when an admin chose them by name (a personal invite).
 */
export function mayJoin(
  account: Account,
  person: SlackPerson,
  how: 'personal_invite' | 'shared_link',
): { ok: true } | Refused<'not_in_workspace' | 'guest_needs_personal_invite'> {
  if (person.deleted || person.bot || !belongsTo(account, person)) return refuse('not_in_workspace');
  if (person.guest && how === 'shared_link') return refuse('guest_needs_personal_invite');
  return { ok: true };
}
