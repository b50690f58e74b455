// A started bulk invitation at work (a job, in parts): its people are invited one by one, each
// written as `sending` before their DM and `sent` after, at the pace Slack allows. One process
// works it at a time (a lease in its row, renewed as it goes; a process that dies lets it lapse and
// another takes over). A person who was `sending` when a process died is looked for in their DM
// (the invitation carries its id) before anything is sent again: nobody is DMed twice. Stop is
// seen within a second; the admin's progress message is brought up to date every few seconds.
import { randomUUID } from 'node:crypto';
import { canAdminister } from '../checks.js';
import type { Services } from '../index.js';
import type { Delivery, SentAt } from '../notifier.js';
import type { Pacer } from '../pacer.js';
import { toInvite } from '../rows.js';
import type { Account, Actor, Invite } from '../types.js';
import { progressOf } from './bulk-invitation.js';

/** How long a lease lasts unless renewed (it is renewed every LEASE_RENEW_MS while worked). */
export const LEASE_MS = 15_000;
const LEASE_RENEW_MS = 3_000;
/** How long one part runs before the next job takes over (a process may stop in between). */
export const PART_MS = 60_000;
/** DMs under way at once, at most (the pacer sets the rate). */
const IN_FLIGHT = 16;
/** How often the progress message changes (chat.update is rate-limited too). */
const PROGRESS_EVERY_MS = 3_000;
/** How often Stop and the lease are looked at. */
const CHECK_EVERY_MS = 1_000;

export type RunOutcome =
  /** `more`: another part is needed (the job queues it). */
  | { ran: true; more: boolean; sent: number }
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
    const inFlight: Invitee[] = await knex('bulk_invitees').where({ bulk_id: input.bulkId, state: 'sending' });
    for (const person of inFlight) {
      const since = new Date(new Date(person.attempt_at ?? services.now()).getTime() - 60_000);
      const found = person.invite_id
        ? await services.notifier.findInvitation(account, person.slack_user_id, person.invite_id, since)
        : 'absent';
      // Slack could not say: rather one person without a DM (in the admin's list) than one with two.
      const state = found === 'found' ? 'sent' : found === 'absent' ? 'pending' : 'failed';
      await mark(services, input.bulkId, person.slack_user_id, state, found === 'unknown' ? 'unsure' : null);
    }

    while (!stopping && Date.now() < partEnds) {
      const batch: Invitee[] = await knex('bulk_invitees')
        .where({ bulk_id: input.bulkId, state: 'pending' })
        .orderBy('slack_user_id')
        .limit(IN_FLIGHT * 4);
      if (batch.length === 0) break;
      let next = 0;
      const worker = async () => {
        while (!stopping && next < batch.length && Date.now() < partEnds) {
          const person = batch[next++] as Invitee;
          await check();
          if (stopping) return;
          if (await inviteOne(services, account, actor, input.bulkId, person, pacer, () => lost)) sent += 1;
          await showProgress();
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    }

    const left = await knex('bulk_invitees')
      .where({ bulk_id: input.bulkId })
      .whereIn('state', ['pending', 'sending'])
      .first('slack_user_id');
    // Lost the lease: whoever holds it now goes on; nothing here is ours to finish.
    if (lost) return { ran: true, more: false, sent };
    const over = stopping || !left;
    // A Stop pressed since the last check still counts: the invitation ends as stopped.
    await knex('bulk_invitations')
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
    await showProgress(over);
    return { ran: true, more: !over, sent };
  }
}

/** One person: their invite (made once), `sending`, the DM, then `sent` or why not. */
async function inviteOne(
  services: Services,
  account: Account,
  actor: Actor,
  bulkId: number,
  person: Invitee,
  pacer: Pacer,
  leaseLost: () => boolean,
): Promise<boolean> {
  let invite: Invite | undefined;
  if (person.invite_id) {
    const row = await services.knex('invites').where({ id: person.invite_id }).first();
    invite = row ? toInvite(row) : undefined;
  }
  if (!invite) {
    const made = await services.invites.create(actor, {
      forSlackUserId: person.slack_user_id,
      forDisplayName: person.display_name,
      bulkId,
    });
    if (!made.ok) {
      // Joined meanwhile, invited too often today, or the admin can no longer invite.
      await mark(services, bulkId, person.slack_user_id, 'failed', made.reason);
      return false;
    }
    invite = made.invite;
  }
  const url = services.links.url(await services.links.sign(invite));
  await services
    .knex('bulk_invitees')
    .where({ bulk_id: bulkId, slack_user_id: person.slack_user_id })
    .update({ invite_id: invite.id });
  await pacer.take();
  // Written just before the DM: a process that dies now leaves `sending`, looked for in the DM.
  if (leaseLost()) return false;
  await services
    .knex('bulk_invitees')
    .where({ bulk_id: bulkId, slack_user_id: person.slack_user_id, state: 'pending' })
    .update({ state: 'sending', attempt_at: services.now() });
  const delivery: Delivery = await services.notifier.tellOneOfMany(account, person.slack_user_id, {
    kind: 'invitation',
    invite,
    url,
  });
  if (delivery.ok) {
    pacer.ok();
    await mark(services, bulkId, person.slack_user_id, 'sent', null);
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
    await mark(services, bulkId, person.slack_user_id, 'pending', null);
    return false;
  }
  await mark(services, bulkId, person.slack_user_id, 'failed', delivery.error);
  return false;
}

async function mark(services: Services, bulkId: number, slackUserId: string, state: string, reason: string | null) {
  await services.knex('bulk_invitees').where({ bulk_id: bulkId, slack_user_id: slackUserId }).update({ state, reason });
}
