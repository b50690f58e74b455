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
  /**
   * Everyone in these channels and user groups, once each, as Slack describes them now (profiles
   * read the cheaper way for the number of people). Slow for big groups: not within a request.
   */
  gather(account: Account, sources: readonly Source[]): Promise<Gathered>;
}

/** A channel or a user group, as an admin named it to invite its people. */
export interface Source {
  kind: 'channel' | 'usergroup';
  id: string;
}

/** Why the people of a source could not be read. */
export type GatherFailure =
  /** A private channel the app is not in (Slack hides it), or no such channel or group. */
  | 'source_not_found'
  /** The installation lacks a scope this needs: reinstalling the app grants it. */
  | 'missing_scope'
  | 'not_installed'
  | 'unavailable';

export type Gathered =
  | { ok: true; people: SlackPerson[]; unknown: number }
  | { ok: false; why: GatherFailure; source?: Source };

type Home = { teamId: string | null; enterpriseId: string | null };

/**
 * Whether someone of `teamId` (in org `enterpriseId`) is a person of the account's workspace or,
 * when it is in an Enterprise Grid org, of that org: whom an admin may invite by name.
 */
export function belongsTo(account: Account, who: Home): boolean {
  return (
    sameWorkspace(account, who) || Boolean(account.slackEnterpriseId && who.enterpriseId === account.slackEnterpriseId)
  );
}

/**
 * Whether someone is of the account's own workspace (its org, for an org-wide install): whom a
 * link for anyone admits. Nobody chose them by name, so other workspaces of the org are out.
 */
export function sameWorkspace(account: Account, who: Home): boolean {
  if (account.isEnterpriseInstall)
    return Boolean(account.slackEnterpriseId && who.enterpriseId === account.slackEnterpriseId);
  return Boolean(account.slackTeamId && who.teamId === account.slackTeamId);
}

/**
 * Whether a person may join the account: never a bot, someone deactivated in Slack or someone
 * of another workspace or org. When an admin chose them by name (a personal invite): a guest, or
 * someone of another workspace of the org, too. Through a link for anyone: full members of the
 * account's own workspace only.
 */
export function mayJoin(
  account: Account,
  person: SlackPerson,
  how: 'personal_invite' | 'shared_link',
): { ok: true } | Refused<'not_in_workspace' | 'guest_needs_personal_invite'> {
  const ours = how === 'personal_invite' ? belongsTo(account, person) : sameWorkspace(account, person);
  if (person.deleted || person.bot || !ours) return refuse('not_in_workspace');
  if (person.guest && how === 'shared_link') return refuse('guest_needs_personal_invite');
  return { ok: true };
}

/** Why Slack's answer about a person stops a rule that depends on it. */
export const NOT_FOUND_AS = {
  unknown: 'not_in_workspace',
  not_installed: 'app_not_installed',
  unavailable: 'slack_unavailable',
} as const;

/**
 * Slack's word now, and `mayJoin` on it: whether someone may join the account `how`, asked at the
 * moment it matters (an approval, a request, a registration).
 */
export async function mayJoinNow(
  directory: Directory,
  account: Account,
  slackUserId: string,
  how: 'personal_invite' | 'shared_link',
): Promise<
  | { ok: true; person: SlackPerson }
  | Refused<'not_in_workspace' | 'guest_needs_personal_invite' | 'app_not_installed' | 'slack_unavailable'>
> {
  const lookup = await directory.lookup(account, slackUserId);
  if (!lookup.found) return refuse(NOT_FOUND_AS[lookup.why]);
  const may = mayJoin(account, lookup.person, how);
  return may.ok ? { ok: true, person: lookup.person } : may;
}
