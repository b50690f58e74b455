// The work the app does on the job queue, by job name: what runs when no request asks for it.
import type { Logger } from '../logger.js';
import type { Services } from '../services/index.js';
import type { JobQueue } from './queue.js';

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
}
