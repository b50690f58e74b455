// Work the domain asks to be done later, on the durable job queue (src/jobs implements it): an
// invitation's DM brought up to date when its state changes or it expires, its reminder.
import type { Db } from './db.js';

export const JOB = {
  /** Bring an invitation's DM up to date with the invitation (data: { inviteId }). */
  invitationDm: 'invitation-dm',
  /** Remind the invited person before their link expires (data: { inviteId }). */
  invitationReminder: 'invitation-reminder',
  /** An access request still open after ACCESS_REQUEST_LIFETIME ends (data: { requestId }). */
  accessRequestExpiry: 'access-request-expiry',
  /** Send the next part of a bulk invitation (data: { bulkId }); one runs it at a time (a lease). */
  bulkInvitation: 'bulk-invitation',
  /** Build the anchors of an account's member pages by number (data: { accountId }). */
  memberAnchors: 'member-anchors',
} as const;

export type JobName = (typeof JOB)[keyof typeof JOB];

export interface Jobs {
  /**
   * Queues a job, at `startAfter` or now. With `db` a transaction, the job exists only if the
   * transaction commits.
   */
  later(db: Db, name: JobName, data: Record<string, string | number>, startAfter?: Date): Promise<void>;
}

export interface LaterJob {
  name: JobName;
  data: Record<string, string | number>;
  startAfter?: Date;
}

/** Queues each of `jobs` (in `db`'s transaction when it is one). */
export async function queueAll(queue: Jobs, db: Db, jobs: ReadonlyArray<LaterJob>): Promise<void> {
  for (const job of jobs) await queue.later(db, job.name, job.data, job.startAfter);
}

/** For services without a queue (tests of rules, tools): nothing is done later. */
export const NO_JOBS: Jobs = {
  async later() {},
};
