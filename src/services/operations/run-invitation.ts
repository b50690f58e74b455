// A started bulk invitation at work (a job, in parts): its people are invited one by one, each
// written as `sending` before their DM and `sent` after, at the pace Slack allows. One process
// works it at a time (a lease in its row, renewed as it goes; a process that dies lets it lapse and
// another takes over). A person who was `sending` when a process died is looked for in their DM
// (the invitation carries its id) before anything is sent again: nobody is DMed twice. Stop is
// seen within a second; the admin's progress message is brought up to date every few seconds.
import { randomUUID } from 'node:crypto';
import { csv } from '../../csv.js';
import { canAdminister } from '../checks.js';
import type { Services } from '../index.js';
import { refusalFor } from '../invites.js';
import type { Delivery, SentAt } from '../notifier.js';
import type { Pacer } from '../pacer.js';
import { toInvite } from '../rows.js';
import type { Account, Actor, Invite } from '../types.js';
import { LEASE_MS, progressOf } from './bulk-invitation.js';

export { LEASE_MS } from './bulk-invitation.js';

const LEASE_RENEW_MS = 3_000;
/** A DM Slack did not answer may still land this long after it was sent: looked for only then. */
export const SETTLE_MS = 20_000;
/** How long one part runs before the next job takes over (a process may stop in between). */
export const PART_MS = 60_000;
/** DMs under way at once, at most (the pacer sets the rate; the pool keeps room for requests). */
const IN_FLIGHT = 8;
/** People whose invites are made together, in one transaction. */
const BATCH = 100;
/** How often the progress message changes (chat.update is rate-limited too). */
const PROGRESS_EVERY_MS = 3_000;
/** How often Stop and the lease are looked at. */
const CHECK_EVERY_MS = 1_000;

export type RunOutcome =
  /** `more`: another part is needed (the job queues it), not before `notBefore` when said. */
  | { ran: true; more: boolean; sent: number; notBefore?: Date }
  /** Another process holds it (until `until`), or it is over. */
  | { ran: false; leasedUntil?: Date };

interface Invitee {
  slack_user_id: string;
  display_name: string | null;
  invite_id: string | null;
  attempt_at: Date | string | null;
}

export async function runInvitation(
  services: Services,
  input: { bulkId: number },
  pacer: Pacer,
  options: { partMs?: number } = {},
): Promise<RunOutcome> {
  const { knex } = services;
  const leaseUntil = () => new Date(services.now().getTime() + LEASE_MS);
  const me = randomUUID();
  const [row] = await knex('bulk_invitations')
    .where({ id: input.bulkId })
    .whereIn('status', ['running', 'stopping'])
    .where((q) => q.whereNull('lease_until').orWhere('lease_until', '<', services.now()))
    .update({ lease_until: leaseUntil(), leased_by: me })
    .returning('*');
  if (!row) {
    const held = await knex('bulk_invitations')
      .where({ id: input.bulkId })
      .whereIn('status', ['running', 'stopping'])
      .first('lease_until');
    return held?.lease_until ? { ran: false, leasedUntil: new Date(held.lease_until) } : { ran: false };
  }
  const found = await services.accounts.get(Number(row.account_id));
  if (!found) return { ran: false };
  const account: Account = found;
  // The lease is renewed while this works, also while it waits for Slack; lost, it stops at once.
  let lost = false;
  const renew = async () => {
    const [held] = await knex('bulk_invitations')
      .where({ id: input.bulkId, leased_by: me })
      .update({ lease_until: leaseUntil() })
      .returning('status');
    if (!held) lost = true;
    return (held as { status: string } | undefined)?.status;
  };
  const heartbeat = setInterval(() => {
    renew().catch(() => {
      lost = true;
    });
  }, LEASE_RENEW_MS);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
  }

  async function work(): Promise<RunOutcome> {
    const actor: Actor = { accountId: account.id, slackUserId: row.created_by, source: 'bulk_invitation' };
    const progressAt: SentAt | undefined =
      row.progress_channel && row.progress_ts ? { channel: row.progress_channel, ts: row.progress_ts } : undefined;
    const partEnds = Date.now() + (options.partMs ?? PART_MS);
    let sent = 0;
    let lastProgress = 0;
    let lastCheck = 0;
    let stopping = row.status === 'stopping';

    const showProgress = async (force = false) => {
      if (!progressAt || (!force && Date.now() - lastProgress < PROGRESS_EVERY_MS)) return;
      lastProgress = Date.now();
      const progress = await progressOf(services, input.bulkId);
      if (progress) await services.notifier.update(account, progressAt, { kind: 'bulk_progress', progress });
    };
    /** Stop pressed, the lease still ours, the admin still an admin: looked at once a second. */
    const check = async () => {
      if (lost) stopping = true;
      if (Date.now() - lastCheck < CHECK_EVERY_MS) return;
      lastCheck = Date.now();
      if ((await renew()) !== 'running') stopping = true;
      // Authority is checked when it is used: an admin removed or demoted meanwhile invites nobody more.
      if (!(await canAdminister(knex, account.id, actor.slackUserId))) stopping = true;
    };

    // People whose DM may have been under way when a process stopped: looked for before anything else.
    // Only attempts old enough for a slow post to have landed: a newer one waits for a later part.
    const inFlight: Invitee[] = await knex('bulk_invitees')
      .where({ bulk_id: input.bulkId, state: 'sending' })
      .where('attempt_at', '<', new Date(services.now().getTime() - SETTLE_MS));
    for (const person of inFlight) {
      const since = new Date(new Date(person.attempt_at ?? services.now()).getTime() - 60_000);
      const found = person.invite_id
        ? await services.notifier.findInvitation(account, person.slack_user_id, person.invite_id, since)
        : 'absent';
      // Slack could not say: rather one person without a DM (in the admin's list) than one with two.
      const state = found === 'found' ? 'sent' : found === 'absent' ? 'pending' : 'failed';
      await mark(services, input.bulkId, person.slack_user_id, state, found === 'unknown' ? 'unsure' : null);
    }

    // Batches in the order of their people; the next one's invites are made while this one's DMs
    // go out. Past the last, once more from the start: people a 429 put back.
    const loadBatch = async (after: string): Promise<Batch | 'stop' | undefined> => {
      const batch: Invitee[] = await knex('bulk_invitees')
        .where({ bulk_id: input.bulkId, state: 'pending' })
        .where('slack_user_id', '>', after)
        .orderBy('slack_user_id')
        .limit(BATCH);
      if (batch.length === 0) return undefined;
      const ready = await invitesFor(services, actor, input.bulkId, batch);
      // The admin can no longer invite: nobody more is.
      return ready ? { ready, last: (batch.at(-1) as Invitee).slack_user_id } : 'stop';
    };
    let cursor = '';
    let upcoming: Promise<Batch | 'stop' | undefined> | undefined;
    while (!stopping && Date.now() < partEnds) {
      const current = await (upcoming ?? loadBatch(cursor));
      upcoming = undefined;
      if (current === 'stop') {
        stopping = true;
        break;
      }
      if (!current) {
        if (cursor === '') break;
        cursor = '';
        continue;
      }
      cursor = current.last;
      upcoming = loadBatch(cursor);
      const { ready } = current;
      let next = 0;
      let failure: unknown;
      const worker = async () => {
        try {
          while (!stopping && next < ready.length && Date.now() < partEnds) {
            const one = ready[next++] as Ready;
            await check();
            if (stopping) return;
            if (await sendOne(services, account, input.bulkId, one, pacer, me, () => lost)) sent += 1;
            await showProgress();
          }
        } catch (err) {
          // One worker failing stops the others before they send more; the part fails after them.
          failure ??= err;
          stopping = true;
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      if (failure) {
        if (upcoming) await upcoming.catch(() => undefined);
        throw failure;
      }
    }
    // A batch made ready but not sent (a stop, the part's end) keeps its invites for the next part.
    if (upcoming) await upcoming.catch(() => undefined);

    const left = await knex('bulk_invitees')
      .where({ bulk_id: input.bulkId })
      .whereIn('state', ['pending', 'sending'])
      .orderByRaw("state = 'sending', attempt_at")
      .first('state', 'attempt_at');
    // Lost the lease: whoever holds it now goes on; nothing here is ours to finish.
    if (lost) return { ran: true, more: false, sent };
    const over = stopping || !left;
    // A Stop pressed since the last check still counts: the invitation ends as stopped.
    const ended = await knex('bulk_invitations')
      .where({ id: input.bulkId, leased_by: me })
      .update(
        over
          ? {
              status: knex.raw("CASE WHEN status = 'running' AND ? THEN 'done' ELSE 'stopped' END", [!stopping]),
              finished_at: services.now(),
              lease_until: null,
              leased_by: null,
            }
          : { lease_until: null, leased_by: null },
      );
    // The lease lapsed after the last check: the process that holds it now finishes it.
    if (ended !== 1) return { ran: true, more: false, sent };
    if (over && stopping) await revokeUnsent(services, actor, input.bulkId);
    await showProgress(over);
    // The links go to the admin only while they may still invite.
    if (over && (await canAdminister(knex, account.id, actor.slackUserId)))
      await listUndelivered(services, account, actor.slackUserId, input.bulkId);
    // Only unanswered DMs left: the next part comes once they have had time to land.
    const notBefore =
      !over && left?.state === 'sending'
        ? new Date(new Date(left.attempt_at).getTime() + SETTLE_MS + 1_000)
        : undefined;
    return { ran: true, more: !over, sent, ...(notBefore ? { notBefore } : {}) };
  }
}

interface Ready {
  slackUserId: string;
  invite: Invite;
}

interface Batch {
  ready: Ready[];
  /** Its last person: the next batch starts after them. */
  last: string;
}

/**
 * The invites of a batch: made once for whoever has none yet (in one transaction, under one
 * account lock), found for whoever has one (a 429 or a crash before their DM). People who joined
 * meanwhile or were invited too often today are marked failed with why. Undefined: the admin
 * can no longer invite.
 */
async function invitesFor(services: Services, actor: Actor, bulkId: number, batch: Invitee[]) {
  const ready: Ready[] = [];
  const have = batch.filter((p) => p.invite_id);
  if (have.length) {
    const rows = await services.knex('invites').whereIn(
      'id',
      have.map((p) => p.invite_id as string),
    );
    // An invite that ended since (revoked, replaced by an invite by name, used, expired) is not sent.
    for (const row of rows) {
      const invite = toInvite(row);
      if (refusalFor(invite, services.now()))
        await mark(services, bulkId, row.for_slack_user_id, 'failed', 'invite_ended');
      else ready.push({ slackUserId: row.for_slack_user_id, invite });
    }
  }
  const need = batch.filter((p) => !p.invite_id);
  if (need.length === 0) return ready;
  const made = await services.invites.createForBulk(
    actor,
    need.map((p) => ({ slackUserId: p.slack_user_id, displayName: p.display_name })),
    bulkId,
  );
  if (!made.ok) return undefined;
  for (const [slackUserId, reason] of made.refused) await mark(services, bulkId, slackUserId, 'failed', reason);
  if (made.invites.size === 0) return ready;
  for (const [slackUserId, invite] of made.invites) ready.push({ slackUserId, invite });
  return ready;
}

/** One person's DM: `sending` just before it, then `sent`, back to pending on a 429, or failed. */
async function sendOne(
  services: Services,
  account: Account,
  bulkId: number,
  { slackUserId, invite }: Ready,
  pacer: Pacer,
  lease: string,
  leaseLost: () => boolean,
): Promise<boolean> {
  const url = services.links.url(await services.links.sign(invite));
  await pacer.take();
  // Written just before the DM, and only while this process holds the lease (checked in the same
  // statement): a process that lost it sends nothing; one that dies now leaves `sending`, looked
  // for in the DM by the next.
  if (leaseLost()) return false;
  const now = services.now();
  const claimed = await services
    .knex('bulk_invitees')
    .where({ bulk_id: bulkId, slack_user_id: slackUserId, state: 'pending' })
    .whereExists((q) =>
      q
        .select(services.knex.raw('1'))
        .from('bulk_invitations')
        .where({ id: bulkId, leased_by: lease })
        .where('lease_until', '>', now),
    )
    .update({ state: 'sending', attempt_at: now });
  if (claimed !== 1) return false;
  const delivery: Delivery = await services.notifier.tellOneOfMany(account, slackUserId, {
    kind: 'invitation',
    invite,
    url,
  });
  if (delivery.ok) {
    pacer.ok();
    await mark(services, bulkId, slackUserId, 'sent', null);
    if (delivery.at) {
      await services
        .knex('invitation_dms')
        .insert({ invite_id: invite.id, channel: delivery.at.channel, ts: delivery.at.ts })
        .onConflict('invite_id')
        .merge(['channel', 'ts']);
    }
    return true;
  }
  if (delivery.retryAfterSeconds !== undefined) {
    // Not sent (Slack said so): the same invite goes again when Slack allows.
    pacer.tooMany(delivery.retryAfterSeconds);
    await mark(services, bulkId, slackUserId, 'pending', null);
    return false;
  }
  // No answer: it may have landed. It stays `sending`, looked for in the DM by the next part.
  if (delivery.uncertain) return false;
  await mark(services, bulkId, slackUserId, 'failed', delivery.error);
  return false;
}

/** Stopped: the invites made for people who were never sent theirs stop working. */
async function revokeUnsent(services: Services, actor: Actor, bulkId: number) {
  await services
    .knex('invites')
    .whereIn(
      'id',
      services
        .knex('bulk_invitees')
        .where({ bulk_id: bulkId, state: 'pending' })
        .whereNotNull('invite_id')
        .select('invite_id'),
    )
    .where({ uses: 0 })
    .whereNull('revoked_at')
    .update({ revoked_at: services.now(), revoked_by: actor.slackUserId, revoke_reason: 'revoked' });
}

async function mark(services: Services, bulkId: number, slackUserId: string, state: string, reason: string | null) {
  await services.knex('bulk_invitees').where({ bulk_id: bulkId, slack_user_id: slackUserId }).update({ state, reason });
}

/**
 * Once it ended: the people whose DM did not arrive, with their links where they have one, as a
 * CSV in the admin's DM (the admin can pass them on another way). Nothing when everyone got theirs.
 */
async function listUndelivered(services: Services, account: Account, admin: string, bulkId: number) {
  const rows = await services
    .knex('bulk_invitees as b')
    .leftJoin('invites as i', 'i.id', 'b.invite_id')
    .where('b.bulk_id', bulkId)
    // Failed, and those Slack never answered about (a stop came before they were looked for).
    .whereIn('b.state', ['failed', 'sending'])
    .orderBy('b.slack_user_id')
    .select(
      'b.slack_user_id',
      'b.display_name',
      'b.state',
      'b.reason',
      'i.id as invite_id',
      'i.expires_at',
      'i.revoked_at',
    );
  if (rows.length === 0) return;
  const lines: Array<Array<string | null>> = [];
  for (const row of rows) {
    const link =
      row.invite_id && !row.revoked_at
        ? services.links.url(await services.links.sign({ id: row.invite_id, expiresAt: new Date(row.expires_at) }))
        : null;
    lines.push([
      row.slack_user_id,
      row.display_name,
      row.reason === 'unsure' || row.state === 'sending'
        ? 'unsure: Slack could not say whether the DM arrived; ask them first'
        : row.reason,
      link,
      row.expires_at ? new Date(row.expires_at).toISOString() : null,
    ]);
  }
  await services.notifier.tellFile(account, admin, {
    filename: `invitation-${bulkId}-not-delivered.csv`,
    title: `Invitations not delivered (${rows.length})`,
    comment: `${rows.length} ${rows.length === 1 ? 'invitation' : 'invitations'} of this invitation could not be delivered by DM. Here they are with their links, to pass on another way; the links are personal, keep this file to yourself.`,
    content: csv(['slack_user_id', 'name', 'why', 'link', 'link_expires_utc'], lines),
  });
}
