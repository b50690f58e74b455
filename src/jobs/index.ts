// The work the app does on the job queue, by job name: what runs when no request asks for it.
import type { Logger } from '../logger.js';
import type { Services } from '../services/index.js';
import { JOB } from '../services/jobs.js';
import { expireRequest } from '../services/operations/expire-request.js';
import { buildAnchors } from '../services/operations/list-members.js';
import { refreshInvitationDm } from '../services/operations/refresh-invitation-dm.js';
import { remindInvitee } from '../services/operations/remind-invitee.js';
import { LEASE_MS, runInvitation } from '../services/operations/run-invitation.js';
import { Pacer } from '../services/pacer.js';
import { type JobQueue, RetryAt } from './queue.js';

export const JOBS = {
  /** Hourly: forget claims of Slack requests older than Slack's redelivery window. */
  pruneRequestClaims: 'prune-request-claims',
  /** Hourly: forget the public pages' request counts whose window ended an hour ago. */
  pruneRateCounts: 'prune-rate-counts',
} as const;

/** Registers every job's work in this process, and the recurring ones (sent by one process). */
export async function startJobs(queue: JobQueue, services: Services, logger: Logger): Promise<void> {
  await queue.start();
  await queue.work(JOBS.pruneRequestClaims, async () => {
    const pruned = await services.requests.prune();
    logger.debug({ pruned }, 'request claims pruned');
  });
  await queue.every(JOBS.pruneRequestClaims, '17 * * * *');
  await queue.work(JOBS.pruneRateCounts, async () => {
    const pruned = await services.rateCounts.prune();
    logger.debug({ pruned }, 'rate counts pruned');
  });
  await queue.every(JOBS.pruneRateCounts, '47 * * * *');
  await queue.work<{ accountId: number }>(JOB.memberAnchors, async (data) => {
    const made = await buildAnchors(services, Number(data.accountId));
    logger.debug({ account: data.accountId, made }, 'member page anchors built');
  });
  // A bulk invitation, a part at a time. Two chains of jobs per invitation: the worker's (each
  // part queues the next) and a watcher's, which comes back each time the lease would lapse and
  // takes over when the process working it died (then goes on watching). The pace learnt from
  // Slack's 429s is kept per account in this process for a minute (speed only: a new one learns).
  const paces = new Map<number, { pacer: Pacer; usedAt: number }>();
  await queue.work<{ bulkId: number; watch?: number }>(JOB.bulkInvitation, async (data) => {
    const row = await services.knex('bulk_invitations').where({ id: data.bulkId }).first('account_id');
    if (!row) return;
    const key = Number(row.account_id);
    const kept = paces.get(key);
    const pacer = kept && Date.now() - kept.usedAt < 60_000 ? kept.pacer : new Pacer();
    const outcome = await runInvitation(services, { bulkId: data.bulkId }, pacer);
    paces.set(key, { pacer, usedAt: Date.now() });
    if (outcome.ran) {
      logger.info(
        {
          bulk: data.bulkId,
          sent: outcome.sent,
          more: outcome.more,
          rate: Math.round(pacer.rate),
          took_over: Boolean(data.watch),
        },
        'bulk invitation part',
      );
      if (outcome.more)
        await queue.send(
          JOB.bulkInvitation,
          { bulkId: data.bulkId },
          outcome.notBefore ? { startAfter: outcome.notBefore } : {},
        );
    }
    // The watcher comes back while the invitation is not over.
    if (data.watch && (outcome.ran ? outcome.more : outcome.leasedUntil)) {
      const lapse = outcome.ran ? Date.now() + LEASE_MS : (outcome.leasedUntil as Date).getTime();
      throw new RetryAt(new Date(lapse + 1_000));
    }
  });
  // Started ones whose process stopped: watched from here too (a lease says who goes on).
  const unfinished: Array<{ id: number | string }> = await services
    .knex('bulk_invitations')
    .whereIn('status', ['running', 'stopping'])
    .select('id');
  for (const { id } of unfinished) await queue.send(JOB.bulkInvitation, { bulkId: Number(id), watch: 1 });
  await queue.work<{ requestId: number }>(JOB.accessRequestExpiry, async (data) => {
    await expireRequest(services, data);
  });
  await queue.work<{ inviteId: string }>(JOB.invitationReminder, async (data) => {
    const outcome = await remindInvitee(services, data);
    logger.debug(
      { invite: data.inviteId, sent: outcome.sent, why: outcome.sent ? undefined : outcome.why },
      'reminder',
    );
    if (!outcome.sent && outcome.why === 'rate_limited') {
      throw new RetryAt(new Date(Date.now() + outcome.retryAfterSeconds * 1000));
    }
    if (outcome.sent && !outcome.told.ok) {
      logger.info({ invite: data.inviteId, error: outcome.told.error }, 'invitation reminder not delivered');
    }
  });
  await queue.work<{ inviteId: string }>(JOB.invitationDm, async (data) => {
    const outcome = await refreshInvitationDm(services, data);
    if (!outcome.changed && outcome.why === 'pending') {
      // Due at its expiry, but this host's clock says not yet: again just after it.
      const left = outcome.expiresAt.getTime() - Date.now();
      if (left > 0 && left < 60_000) throw new RetryAt(new Date(outcome.expiresAt.getTime() + 1_000));
      return;
    }
    if (outcome.changed || outcome.why !== 'not_delivered') return;
    const { retryAfterSeconds, error } = outcome.delivery;
    // Rate-limited: back when Slack said. Other failures are logged by the notifier; the DM stays.
    if (retryAfterSeconds !== undefined) throw new RetryAt(new Date(Date.now() + retryAfterSeconds * 1000));
    logger.info({ invite: data.inviteId, error }, 'invitation DM not brought up to date');
  });
}
