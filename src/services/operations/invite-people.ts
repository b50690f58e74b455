// Invite named people (`/chatbees-users invite @…`, the console's invite form): each is looked up
// in Slack, gets a personal invite and is sent their link by DM.
import type { Services } from '../index.js';
import type { InviteCapReached } from '../invites.js';
import { JOB } from '../jobs.js';
import { mayJoin } from '../people.js';
import type { Account, Actor, Refusal } from '../types.js';

/** At most this many people in one invitation. */
export const MAX_INVITEES = 50;

export type InviteOutcome =
  /** `guest`: a guest of the workspace, invited by name (the admin is told). */
  | { user: string; kind: 'sent'; expiresAt: Date; replaced: boolean; guest: boolean }
  /** Stored, but the DM did not arrive: the admin gets the link to pass on. */
  | { user: string; kind: 'dm_failed'; url: string | null; expiresAt: Date; error: string; guest: boolean }
  | { user: string; kind: 'already_member' }
  | { user: string; kind: 'not_invitable'; why: 'bot' | 'deactivated' | 'unknown' | 'external' | 'lookup_failed' }
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

/**
 * One outcome per person, in the order given. One person's failure (Slack's or the database's)
 * does not cost the admin the links already made for the others; once the admin's own cap is
 * reached, the people after are not looked up at all.
 */
export async function invitePeople(
  services: Services,
  actor: Actor,
  input: { users: string[]; onFailure?: (user: string, err: unknown) => void },
): Promise<InviteOutcome[]> {
  const account = await services.accounts.get(actor.accountId);
  if (!account) return input.users.map((user) => ({ user, kind: 'refused', reason: 'not_member' }));
  let ownCap: Extract<InviteOutcome, { kind: 'capped' }> | undefined;
  return mapLimited(input.users, CONCURRENCY, async (user): Promise<InviteOutcome> => {
    if (ownCap) return { ...ownCap, user };
    try {
      const outcome = await invitePerson(services, account, actor, user, input.onFailure);
      if (outcome.kind === 'capped' && outcome.cap === 'invite_limit') ownCap = outcome;
      return outcome;
    } catch (err) {
      input.onFailure?.(user, err);
      return { user, kind: 'failed' };
    }
  });
}

async function invitePerson(
  services: Services,
  account: Account,
  actor: Actor,
  user: string,
  onFailure?: (user: string, err: unknown) => void,
): Promise<InviteOutcome> {
  const lookup = await services.directory.lookup(account, user);
  if (!lookup.found)
    return { user, kind: 'not_invitable', why: lookup.why === 'unknown' ? 'unknown' : 'lookup_failed' };
  const { person } = lookup;
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
  const told = await services.notifier.tell(account, user, {
    kind: 'invitation',
    invite: created.invite,
    url: created.url,
  });
  const { guest } = person;
  const expiresAt = created.invite.expiresAt;
  // Where the DM is, to change it in place when the invitation ends.
  if (told.ok && told.at) {
    const at = told.at;
    // The invite is made and DMed whatever happens here: a failure only costs the DM its later
    // update in place, and must not tell the admin "not invited" (a retry would DM them again).
    try {
      await services
        .knex('invitation_dms')
        .insert({ invite_id: created.invite.id, channel: at.channel, ts: at.ts })
        .onConflict('invite_id')
        .merge(['channel', 'ts']);
      // Replaced or revoked while the DM was on its way: the job that said so found no DM yet.
      await services.jobs.later(services.knex, JOB.invitationDm, { inviteId: created.invite.id });
    } catch (err) {
      onFailure?.(user, err);
    }
  }
  if (!told.ok) return { user, kind: 'dm_failed', url: created.url, expiresAt, error: told.error, guest };
  return { user, kind: 'sent', expiresAt, replaced: created.replaced !== null, guest };
}
