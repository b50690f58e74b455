// Inviting channels and user groups (`invite #channel @group @person …`), first step: who is in
// them, and how many of those would be invited. Counts first: up to ASK_ABOVE people are invited
// at once (as `invite @a @b` does); more, and the counts are kept as a bulk invitation the admin
// confirms (start-invitation.ts) or cancels.
import { authorizeAdmin, usableInvite } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import type { Counts, SkipReason } from '../notifier.js';
import { belongsTo, type SlackPerson, type Source } from '../people.js';
import type { Actor, Refused } from '../types.js';
import { refuse } from '../types.js';

/** More people than this to invite: the admin confirms with the counts first. */
export const ASK_ABOVE = 50;

export type { Counts, SkipReason } from '../notifier.js';

export type CountOutcome =
  | {
      ok: true;
      counts: Counts;
      /** `now`: few enough to invite at once (these people); `ask`: kept as a bulk invitation to confirm. */
      next: { kind: 'now'; users: string[] } | { kind: 'ask'; bulkId: number };
    }
  | Refused<'not_member' | 'not_admin'>
  | (Refused<'source_not_found' | 'missing_scope' | 'app_not_installed' | 'slack_unavailable'> & { source?: Source });

const GATHER_REFUSAL = {
  source_not_found: 'source_not_found',
  missing_scope: 'missing_scope',
  not_installed: 'app_not_installed',
  unavailable: 'slack_unavailable',
} as const;

/** Rows written or read in one statement, at most. */
const BATCH = 1_000;

export async function countInvitation(
  services: Services,
  actor: Actor,
  input: { sources: Source[]; users: string[] },
): Promise<CountOutcome> {
  const admin = await authorizeAdmin(services.knex, actor);
  if (!admin.ok) return admin;
  const account = await services.accounts.get(actor.accountId);
  if (!account) return refuse('not_member');
  const gathered = await services.directory.gather(account, input.sources);
  if (!gathered.ok) return { ...refuse(GATHER_REFUSAL[gathered.why]), source: gathered.source };

  const skipped: Record<SkipReason, number> = {
    members: 0,
    pending: 0,
    guests: 0,
    bots: 0,
    deactivated: 0,
    other_org: 0,
    unknown: gathered.unknown,
  };
  // People named by hand are invited as `invite @person` would (a guest may be); a group's are not guests.
  const named = new Set(input.users);
  const candidates = new Map<string, SlackPerson>();
  for (const person of gathered.people) candidates.set(person.slackUserId, person);
  for (const id of named) {
    if (candidates.has(id)) continue;
    const lookup = await services.directory.lookup(account, id);
    if (lookup.found) candidates.set(id, lookup.person);
    else skipped.unknown += 1;
  }
  const eligible: SlackPerson[] = [];
  for (const person of candidates.values()) {
    const why = skipReason(account, person, named.has(person.slackUserId));
    if (why) skipped[why] += 1;
    else eligible.push(person);
  }
  const { members, pending } = await alreadyIn(
    services,
    actor.accountId,
    eligible.map((p) => p.slackUserId),
  );
  const toInvite = eligible.filter((p) => {
    if (members.has(p.slackUserId)) skipped.members += 1;
    else if (pending.has(p.slackUserId)) skipped.pending += 1;
    else return true;
    return false;
  });
  const counts: Counts = {
    people: candidates.size + skipped.unknown,
    toInvite: toInvite.length,
    skipped,
  };
  if (toInvite.length <= ASK_ABOVE) {
    return { ok: true, counts, next: { kind: 'now', users: toInvite.map((p) => p.slackUserId) } };
  }
  const bulkId = await keep(services, actor, input, counts, toInvite);
  return { ok: true, counts, next: { kind: 'ask', bulkId } };
}

function skipReason(
  account: Parameters<typeof belongsTo>[0],
  person: SlackPerson,
  named: boolean,
): SkipReason | undefined {
  if (person.bot) return 'bots';
  if (person.deleted) return 'deactivated';
  if (!belongsTo(account, person)) return 'other_org';
  if (person.guest && !named) return 'guests';
  return undefined;
}

/** Which of `ids` are active members, and which have an invite that still works. */
async function alreadyIn(services: Services, accountId: number, ids: string[]) {
  const members = new Set<string>();
  const pending = new Set<string>();
  const now = services.now();
  for (let i = 0; i < ids.length; i += BATCH) {
    const chunk = ids.slice(i, i + BATCH);
    const active: string[] = await services
      .knex('members')
      .where({ account_id: accountId, status: 'active' })
      .whereIn('slack_user_id', chunk)
      .pluck('slack_user_id');
    for (const id of active) members.add(id);
    const invited: string[] = await services
      .knex('invites as i')
      .where('i.account_id', accountId)
      .whereIn('i.for_slack_user_id', chunk)
      .whereRaw(usableInvite('i', '?'), [now])
      .pluck('i.for_slack_user_id');
    for (const id of invited) pending.add(id);
  }
  return { members, pending };
}

/** The counted invitation, kept until the admin confirms it (its people written in batches). */
async function keep(
  services: Services,
  actor: Actor,
  input: { sources: Source[]; users: string[] },
  counts: Counts,
  people: SlackPerson[],
): Promise<number> {
  return inTransaction(services.knex, async (trx) => {
    const [row] = await trx('bulk_invitations')
      .insert({
        account_id: actor.accountId,
        created_by: actor.slackUserId,
        sources: JSON.stringify({ sources: input.sources, users: input.users }),
        counts: JSON.stringify(counts),
        total: people.length,
        status: 'counted',
        created_at: services.now(),
      })
      .returning('id');
    const bulkId = Number((row as { id: number | string }).id);
    for (let i = 0; i < people.length; i += BATCH) {
      await trx('bulk_invitees').insert(
        people.slice(i, i + BATCH).map((p) => ({
          bulk_id: bulkId,
          slack_user_id: p.slackUserId,
          display_name: p.displayName,
          state: 'pending',
        })),
      );
    }
    return bulkId;
  });
}
