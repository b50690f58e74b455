// Inviting named Slack users: look each one up in Slack, store a personal invite, DM the link.
// Shared by `/chatbees-users invite @…` and the console's invite form.
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import type { Services } from '../services/index.js';
import type { InviteCapReached } from '../services/invites.js';
import { mayJoin } from '../services/people.js';
import type { Account, Actor, Refusal } from '../services/types.js';
import { invitation } from './blocks/dm.js';
import { logFailure } from './context.js';
import { sendDm, slackError } from './notify.js';
import { isUnknownUser, personOf, type SlackUser } from './people.js';

export type InviteOutcome =
  /** `guest`: a guest of the workspace, invited by name (the admin is told). */
  | { user: string; kind: 'sent'; expiresAt: Date; replaced: boolean; guest: boolean }
  /** Stored, but the DM did not arrive: the admin gets the link to pass on. */
  | { user: string; kind: 'dm_failed'; url: string; expiresAt: Date; error: string; guest: boolean }
  | { user: string; kind: 'already_member' }
  | {
      user: string;
      kind: 'not_invitable';
      why: 'bot' | 'deactivated' | 'unknown' | 'external' | 'lookup_failed';
      detail?: string;
    }
  | { user: string; kind: 'refused'; reason: Refusal }
  /** Past a cap: the admin's own for 24 hours, or this person's; invitations open again at `resetsAt`. */
  | { user: string; kind: 'capped'; cap: InviteCapReached['reason']; limit: number; resetsAt: Date }
  /** Storing this person's invite failed (the database, most likely); the others still count. */
  | { user: string; kind: 'failed' };

const CONCURRENCY = 4;

async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

type InviteDeps = { client: WebClient; services: Services; logger: Logger; account: Account };

export async function invitePeople(deps: InviteDeps, actor: Actor, users: string[]): Promise<InviteOutcome[]> {
  const { logger } = deps;
  // Once the admin's own cap is reached, the people after are not looked up in Slack at all.
  let ownCap: Extract<InviteOutcome, { kind: 'capped' }> | undefined;
  return mapLimited(users, CONCURRENCY, async (user): Promise<InviteOutcome> => {
    if (ownCap) return { ...ownCap, user };
    try {
      const outcome = await invitePerson(deps, actor, user);
      if (outcome.kind === 'capped' && outcome.cap === 'invite_limit') ownCap = outcome;
      return outcome;
    } catch (err) {
      // One person's failure must not cost the admin the links already made for the others.
      logFailure(logger, err, 'invite failed', { invitee: user });
      return { user, kind: 'failed' };
    }
  });
}

async function invitePerson(deps: InviteDeps, actor: Actor, user: string): Promise<InviteOutcome> {
  const { client, services, logger, account } = deps;
  let slackUser: SlackUser;
  try {
    slackUser = ((await client.users.info({ user })).user ?? {}) as SlackUser;
  } catch (err) {
    const error = slackError(err);
    if (isUnknownUser(error)) return { user, kind: 'not_invitable', why: 'unknown' };
    return { user, kind: 'not_invitable', why: 'lookup_failed', detail: error };
  }
  const person = personOf({ ...slackUser, id: user });
  if (person.bot) return { user, kind: 'not_invitable', why: 'bot' };
  if (person.deleted) return { user, kind: 'not_invitable', why: 'deactivated' };
  // Guests may be invited by name: an admin chose that person.
  if (!mayJoin(account, person, 'personal_invite').ok) return { user, kind: 'not_invitable', why: 'external' };

  const created = await services.invites.create(actor, { forSlackUserId: user, forDisplayName: person.displayName });
  if (!created.ok) {
    if (created.reason === 'invite_limit' || created.reason === 'invitee_invite_limit') {
      return { user, kind: 'capped', cap: created.reason, limit: created.limit, resetsAt: created.resetsAt };
    }
    return created.reason === 'already_member'
      ? { user, kind: 'already_member' }
      : { user, kind: 'refused', reason: created.reason };
  }
  const dm = await sendDm(client, logger, user, invitation(account, created.invite, created.url));
  const { guest } = person;
  if (!dm.ok)
    return { user, kind: 'dm_failed', url: created.url, expiresAt: created.invite.expiresAt, error: dm.error, guest };
  return { user, kind: 'sent', expiresAt: created.invite.expiresAt, replaced: created.replaced !== null, guest };
}
