// People as Slack's users.info and user events show them, turned into the domain's SlackPerson;
// and the Directory through which the domain asks Slack about someone at the moment it matters.
import type { WebClient } from '@slack/web-api';
import { DeadlineExceeded, withDeadline } from '../deadline.js';
import type { Logger } from '../logger.js';
import type { Directory, Gathered, GatherFailure, Lookup, SlackPerson, Source } from '../services/people.js';
import type { Account } from '../services/types.js';
import { slackError } from './notify.js';

export type SlackUser = {
  id?: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_app_user?: boolean;
  /** A multi-channel guest. */
  is_restricted?: boolean;
  /** A single-channel guest. */
  is_ultra_restricted?: boolean;
  team_id?: string;
  enterprise_user?: { enterprise_id?: string };
  profile?: { display_name?: string; real_name?: string; email?: string };
};

export interface SlackProfile {
  displayName: string | null;
  email: string | null;
}

export function profileOf(user: SlackUser): SlackProfile {
  const name = user.profile?.display_name || user.profile?.real_name || user.real_name || user.name || null;
  return { displayName: name, email: user.profile?.email ?? null };
}

export function personOf(user: SlackUser & { id: string }): SlackPerson {
  return {
    slackUserId: user.id,
    teamId: user.team_id ?? null,
    enterpriseId: user.enterprise_user?.enterprise_id ?? null,
    deleted: user.deleted === true,
    bot: user.is_bot === true || user.is_app_user === true || user.id === 'USLACKBOT',
    guest: user.is_restricted === true || user.is_ultra_restricted === true,
    ...profileOf(user),
  };
}

/** Whether a Web API error says Slack knows no such person (to this app). */
export function isUnknownUser(error: string): boolean {
  return error === 'user_not_found' || error === 'user_not_visible';
}
/** Errors by which Slack says the workspace's token no longer works: the app is not installed there. */
const TOKEN_GONE = new Set(['account_inactive', 'token_revoked', 'invalid_auth', 'not_authed']);

/**
 * The domain's Directory over users.info, with the bot token of the account's workspace. An
 * answer that does not come within `deadlineMs` (Slack slow, failing or rate-limiting) is
 * "unavailable": the caller changes nothing and asks the person to try again. A token Slack
 * no longer accepts means the app is not installed there.
 */
export function slackDirectory(
  clientFor: (account: Account) => Promise<WebClient | undefined>,
  deadlineMs: number,
  logger: Logger,
): Directory {
  return {
    async lookup(account, slackUserId): Promise<Lookup> {
      const client = await clientFor(account);
      if (!client) return { found: false, why: 'not_installed' };
      try {
        const { user } = await withDeadline(client.users.info({ user: slackUserId }), deadlineMs);
        if (!user) return { found: false, why: 'unknown' };
        return { found: true, person: personOf({ ...(user as SlackUser), id: slackUserId }) };
      } catch (err) {
        const error = err instanceof DeadlineExceeded ? 'no answer in time' : slackError(err);
        if (isUnknownUser(error)) return { found: false, why: 'unknown' };
        if (TOKEN_GONE.has(error)) {
          logger.warn({ account: account.id, error }, "Slack refused the workspace's token: treated as not installed");
          return { found: false, why: 'not_installed' };
        }
        // Slow, failing, rate-limited, or refusing for a reason retrying will not mend (a missing
        // scope): the person is asked to try again, the operator learns why from the log.
        logger.warn({ account: account.id, error }, 'users.info gave no usable answer; registration not done');
        return { found: false, why: 'unavailable' };
      }
    },

    async gather(account, sources): Promise<Gathered> {
      const client = await clientFor(account);
      if (!client) return { ok: false, why: 'not_installed' };
      const ids = new Set<string>();
      for (const source of sources) {
        try {
          for (const id of await membersOf(client, source)) ids.add(id);
        } catch (err) {
          return { ok: false, why: gatherFailure(logger, account, err), source };
        }
      }
      try {
        const people = await profilesOf(client, ids);
        return { ok: true, people, unknown: ids.size - people.length };
      } catch (err) {
        return { ok: false, why: gatherFailure(logger, account, err) };
      }
    },
  };
}

/** Up to this many people, profiles are read one by one (users.info); past it, users.list pages. */
export const PROFILES_ONE_BY_ONE = 50;
/** How long reading a big group may wait for Slack's rate limits, in all. */
const GATHER_PATIENCE_MS = 10 * 60_000;

/** A Web API call, again after Slack's Retry-After while rate-limited (within `deadline`). */
async function patiently<T>(call: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const retryAfter = (err as { code?: string; retryAfter?: number }).retryAfter;
      const wait = (retryAfter ?? 1) * 1000;
      if ((err as { code?: string }).code !== 'slack_webapi_rate_limited_error' || Date.now() + wait > deadline)
        throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** The user ids of a channel (conversations.members, paged) or a user group (not paged). */
async function membersOf(client: WebClient, source: Source): Promise<string[]> {
  const deadline = Date.now() + GATHER_PATIENCE_MS;
  if (source.kind === 'usergroup') {
    const { users } = await patiently(() => client.usergroups.users.list({ usergroup: source.id }), deadline);
    return users ?? [];
  }
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await patiently(
      () => client.conversations.members({ channel: source.id, limit: 1000, ...(cursor ? { cursor } : {}) }),
      deadline,
    );
    ids.push(...(page.members ?? []));
    cursor = page.response_metadata?.next_cursor || undefined;
  } while (cursor);
  return ids;
}

/** Profiles of `ids`: one by one for a few, else from users.list's pages (people not in `ids` dropped). */
async function profilesOf(client: WebClient, ids: Set<string>): Promise<SlackPerson[]> {
  const deadline = Date.now() + GATHER_PATIENCE_MS;
  const people: SlackPerson[] = [];
  if (ids.size <= PROFILES_ONE_BY_ONE) {
    for (const id of ids) {
      try {
        const { user } = await patiently(() => client.users.info({ user: id }), deadline);
        if (user) people.push(personOf({ ...(user as SlackUser), id }));
      } catch (err) {
        if (!isUnknownUser(slackError(err))) throw err;
      }
    }
    return people;
  }
  let cursor: string | undefined;
  do {
    const page = await patiently(() => client.users.list({ limit: 1000, ...(cursor ? { cursor } : {}) }), deadline);
    for (const user of (page.members ?? []) as SlackUser[]) {
      if (user.id && ids.has(user.id)) people.push(personOf({ ...user, id: user.id }));
    }
    cursor = page.response_metadata?.next_cursor || undefined;
  } while (cursor);
  return people;
}

/** Why a source's people could not be read, from Slack's error. */
function gatherFailure(logger: Logger, account: Account, err: unknown): GatherFailure {
  const error = slackError(err);
  if (['channel_not_found', 'no_such_subteam', 'not_in_channel', 'subteam_not_found'].includes(error))
    return 'source_not_found';
  if (error === 'missing_scope') return 'missing_scope';
  if (TOKEN_GONE.has(error)) return 'not_installed';
  logger.warn({ account: account.id, error }, 'the people of a channel or user group could not be read');
  return 'unavailable';
}
