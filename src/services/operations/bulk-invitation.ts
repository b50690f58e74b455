// A counted invitation of channels and user groups (count-invitation.ts), from its admin's
// buttons: Invite (it starts, as a job: run-invitation.ts), Cancel, Stop (within seconds; links
// already sent stay valid) and, once it ended, Revoke all (every link of it still unused).
// One runs at a time per account; it counts once against its admin's daily cap.
import { recordAudit } from '../audit-log.js';
import { lockAsAdmin, usableInvite } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import type { InviteCapReached } from '../invites.js';
import { JOB } from '../jobs.js';
import { endInvites } from '../membership.js';
import type { BulkProgress, SentAt } from '../notifier.js';
import type { Source } from '../people.js';
import type { Actor, Refused } from '../types.js';
import { refuse } from '../types.js';
import type { Counts } from './count-invitation.js';

/** Its state, read fresh from the database. */
export async function progressOf(services: Services, bulkId: number): Promise<BulkProgress | undefined> {
  const row = await services.knex('bulk_invitations').where({ id: bulkId }).first();
  if (!row) return undefined;
  const states = (await services
    .knex('bulk_invitees')
    .where({ bulk_id: bulkId })
    .whereIn('state', ['sent', 'failed'])
    .groupBy('state', 'reason')
    .select('state', 'reason')
    .count({ n: '*' })) as Array<{ state: string; reason: string | null; n: string | number }>;
  const failed: Record<string, number> = {};
  let sent = 0;
  for (const s of states) {
    if (s.state === 'sent') sent += Number(s.n);
    else failed[s.reason ?? 'error'] = (failed[s.reason ?? 'error'] ?? 0) + Number(s.n);
  }
  const unused = await services
    .knex('invites')
    .where({ bulk_id: bulkId })
    .whereRaw(usableInvite('invites', '?'), [services.now()])
    .count<{ n: string | number }>({ n: '*' })
    .first();
  const what = (typeof row.sources === 'string' ? JSON.parse(row.sources) : row.sources) as {
    sources: Source[];
    users: string[];
  };
  return {
    id: bulkId,
    createdBy: row.created_by,
    sources: what.sources,
    named: what.users.length,
    status: row.status,
    counts: (typeof row.counts === 'string' ? JSON.parse(row.counts) : row.counts) as Counts,
    total: Number(row.total),
    sent,
    failed,
    unused: Number(unused?.n ?? 0),
  };
}

type Mine = Refused<'not_member' | 'not_admin' | 'bulk_unknown' | 'wrong_person'>;

/** The admin who counted it presses; any other admin is told it is not theirs. */
async function ownBulk(trx: Parameters<typeof lockAsAdmin>[0], actor: Actor, bulkId: number) {
  const admin = await lockAsAdmin(trx, actor);
  if (!admin.ok) return admin;
  const row = await trx('bulk_invitations').where({ id: bulkId, account_id: actor.accountId }).forUpdate().first();
  if (!row) return refuse('bulk_unknown');
  if (row.created_by !== actor.slackUserId) return refuse('wrong_person');
  return { ok: true as const, row, account: admin.account };
}

/** How long a worker's lease on an invitation lasts unless renewed (every 3 s while it works). */
export const LEASE_MS = 15_000;

export type StartOutcome =
  | { ok: true; progress: BulkProgress; at?: SentAt }
  | Mine
  | Refused<'bulk_not_counted' | 'bulk_running'>
  | InviteCapReached;

/**
 * Invite: the counted invitation starts, once (a second press, in any process, is refused), as a
 * job; its admin gets a progress message that keeps itself current.
 */
export async function startInvitation(
  services: Services,
  actor: Actor,
  input: { bulkId: number },
): Promise<StartOutcome> {
  const started = await inTransaction(services.knex, async (trx) => {
    const own = await ownBulk(trx, actor, input.bulkId);
    if (!own.ok) return own;
    if (own.row.status !== 'counted') return refuse('bulk_not_counted');
    const running = await trx('bulk_invitations')
      .where({ account_id: actor.accountId })
      .whereIn('status', ['running', 'stopping'])
      .first('id');
    if (running) return refuse('bulk_running');
    // It counts once against the admin's daily cap, as a link for anyone does.
    const capped = await services.invites.adminCapReached(trx, actor);
    if (capped) return capped;
    const now = services.now();
    await trx('bulk_invitations').where({ id: input.bulkId }).update({ status: 'running', started_at: now });
    await recordAudit(trx, {
      accountId: actor.accountId,
      actor: actor.slackUserId,
      action: 'invite.bulk_started',
      source: actor.source,
      targetSlackUserId: null,
      before: null,
      after: { bulk: input.bulkId, total: Number(own.row.total), sources: own.row.sources },
      at: now,
    });
    // The worker, and a watcher that takes over if the process working it dies.
    await services.jobs.later(trx, JOB.bulkInvitation, { bulkId: input.bulkId });
    await services.jobs.later(
      trx,
      JOB.bulkInvitation,
      { bulkId: input.bulkId, watch: 1 },
      new Date(now.getTime() + LEASE_MS + 1_000),
    );
    return { ok: true as const, account: own.account };
  });
  if (!started.ok) return started;
  const progress = (await progressOf(services, input.bulkId)) as BulkProgress;
  const told = await services.notifier.tell(started.account, actor.slackUserId, { kind: 'bulk_progress', progress });
  if (told.ok && told.at) {
    await services
      .knex('bulk_invitations')
      .where({ id: input.bulkId })
      .update({ progress_channel: told.at.channel, progress_ts: told.at.ts });
  }
  return { ok: true, progress, ...(told.ok && told.at ? { at: told.at } : {}) };
}

/** Cancel: the counted invitation is dropped; nobody was invited. */
export async function cancelInvitation(
  services: Services,
  actor: Actor,
  input: { bulkId: number },
): Promise<{ ok: true } | Mine | Refused<'bulk_not_counted'>> {
  return inTransaction(services.knex, async (trx) => {
    const own = await ownBulk(trx, actor, input.bulkId);
    if (!own.ok) return own;
    if (own.row.status !== 'counted') return refuse('bulk_not_counted');
    await trx('bulk_invitations')
      .where({ id: input.bulkId })
      .update({ status: 'cancelled', finished_at: services.now() });
    await trx('bulk_invitees').where({ bulk_id: input.bulkId }).del();
    return { ok: true as const };
  });
}

/**
 * Stop: the job sees it within seconds and ends there; links already sent stay valid. Any active
 * AccountAdmin may stop it (an invitation going wrong should not wait for the one who started it).
 */
export async function stopInvitation(
  services: Services,
  actor: Actor,
  input: { bulkId: number },
): Promise<{ ok: true; wasRunning: boolean } | Refused<'not_member' | 'not_admin' | 'bulk_unknown'>> {
  return inTransaction(services.knex, async (trx) => {
    const admin = await lockAsAdmin(trx, actor);
    if (!admin.ok) return admin;
    const row = await trx('bulk_invitations').where({ id: input.bulkId, account_id: actor.accountId }).first();
    if (!row) return refuse('bulk_unknown');
    const stopped = await trx('bulk_invitations')
      .where({ id: input.bulkId, status: 'running' })
      .update({ status: 'stopping' });
    if (stopped) {
      await recordAudit(trx, {
        accountId: actor.accountId,
        actor: actor.slackUserId,
        action: 'invite.bulk_stopped',
        source: actor.source,
        targetSlackUserId: null,
        before: { bulk: input.bulkId },
        after: null,
        at: services.now(),
      });
    }
    return { ok: true as const, wasRunning: stopped > 0 };
  });
}

/** Revoke all: every link of this invitation nobody used yet stops working (after it ended). */
export async function revokeAll(
  services: Services,
  actor: Actor,
  input: { bulkId: number },
): Promise<{ ok: true; revoked: number } | Refused<'not_member' | 'not_admin' | 'bulk_unknown' | 'bulk_running'>> {
  return inTransaction(services.knex, async (trx) => {
    const admin = await lockAsAdmin(trx, actor);
    if (!admin.ok) return admin;
    const row = await trx('bulk_invitations').where({ id: input.bulkId, account_id: actor.accountId }).first();
    if (!row) return refuse('bulk_unknown');
    // While it runs, new links would follow the revoked ones: Stop first.
    if (row.status === 'running' || row.status === 'stopping') return refuse('bulk_running');
    const now = services.now();
    const ids = await endInvites(trx, actor.accountId, { bulkId: input.bulkId }, 'revoked', {
      actor: actor.slackUserId,
      at: now,
      jobs: services.jobs,
    });
    await recordAudit(trx, {
      accountId: actor.accountId,
      actor: actor.slackUserId,
      action: 'invite.bulk_revoked',
      source: actor.source,
      targetSlackUserId: null,
      before: { bulk: input.bulkId },
      after: { revoked: ids.length },
      at: now,
    });
    return { ok: true as const, revoked: ids.length };
  });
}
