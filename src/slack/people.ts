// People as Slack's users.info and user events show them, turned into the domain's SlackPerson;
// and the Directory through which the domain asks Slack about someone at the moment it matters.
import type { WebClient } from '@slack/web-api';
import { DeadlineExceeded, withDeadline } from '../deadline.js';
import type { Logger } from '../logger.js';
import type { Directory, Lookup, SlackPerson } from '../services/people.js';
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
  };
}
