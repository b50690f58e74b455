// The work the app does on the job queue, by job name: what runs when no request asks for it.
import type { Logger } from '../logger.js';
import type { Services } from '../services/index.js';
import { JOB } from '../services/jobs.js';
import { expireRequest } from '../services/operations/expire-request.js';
import { refreshInvitationDm } from '../services/operations/refresh-invitation-dm.js';
import { remindInvitee } from '../services/operations/remind-invitee.js';
import { type JobQueue, RetryAt } from './queue.js';

export const JOBS = {
  /** Hourly: forget claims of Slack requests older than Slack's redelivery window. */
  pruneRequestClaims: 'prune-request-claims',
} as const;

/** Registers every job's work in this process, and the recurring ones (sent by one process). */
export async function startJobs(queue: JobQueue, services: Services, logger: Logger): Promise<void> {
  await queue.start();
  await queue.work(JOBS.pruneRequestClaims, async () => {
    const pruned = await services.requests.prune();
    logger.debug({ pruned }, 'request claims pruned');
  });
  await queue.every(JOBS.pruneRequestClaims, '17 * * * *');
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
