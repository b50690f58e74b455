import type { Knex } from 'knex';
import { AccountService } from './accounts.js';
import { AuditService } from './audit.js';
import { InstallationService, InstallationVault } from './installations.js';
import { InviteService } from './invites.js';
import { type Jobs, NO_JOBS } from './jobs.js';
import { MemberService } from './members.js';
import { NOBODY, type Notifier } from './notifier.js';
import type { Directory } from './people.js';
import { RateCounts } from './rate-counts.js';
import type { RegistrationLinks } from './registration-links.js';
import { RequestClaims } from './request-claims.js';

/**
 * The domain: what operations (src/services/operations/*) act with. Each operation takes this,
 * who is acting and its input.
 */
export interface Services {
  knex: Knex;
  now: () => Date;
  links: RegistrationLinks;
  /** What Slack says about people, asked when a rule depends on it. */
  directory: Directory;
  /** How people are told of what was done (direct messages, from src/slack). */
  notifier: Notifier;
  /** Work for later, on the durable queue (src/jobs). */
  jobs: Jobs;
  settings: {
    /** Multi-workspace mode: a workspace's links work only while the app is installed there. */
    multiWorkspace: boolean;
    /** Sign in with Slack is set up, so links for anyone can be made (and used). */
    sharedLinks: boolean;
    /** Where access requests go while an account has chosen no channel (single-workspace mode). */
    requestsChannel?: string;
  };
  accounts: AccountService;
  members: MemberService;
  invites: InviteService;
  audit: AuditService;
  requests: RequestClaims;
  /** Request counts every process shares (the public pages' rate limits). */
  rateCounts: RateCounts;
  /** The workspaces' installations: multi-workspace mode only. */
  installations?: InstallationService;
}

export interface ServiceOptions {
  knex: Knex;
  links: RegistrationLinks;
  /** Lifetime of a new registration link, in seconds. */
  inviteTtlSeconds: number;
  /** How long before a personal link expires its person is reminded; never unless said. */
  reminderBeforeSeconds?: number | null;
  /** Invitations one admin may make in 24 hours (0: no limit); none unless said. */
  inviteLimitPerDay?: number;
  /** Multi-workspace mode: the key the workspaces' tokens are encrypted with. */
  tokenEncryptionKey?: string;
  /** What Slack says about people, asked when a registration link is used. */
  directory: Directory;
  /** How people are told; nobody is, unless said. */
  notifier?: Notifier;
  /** Where work for later goes; nowhere, unless said. */
  jobs?: Jobs;
  /** Many workspaces install the app (OAuth); a workspace's links work only while it is installed. */
  multiWorkspace?: boolean;
  /** Sign in with Slack is set up, so links for anyone can be made (and used). */
  sharedLinks?: boolean;
  /** Where access requests go while an account has chosen no channel; DMs to the admins unless said. */
  requestsChannel?: string;
  now?: () => Date;
}

export function createServices(options: ServiceOptions): Services {
  const now = options.now ?? (() => new Date());
  const { knex, links } = options;
  const multiWorkspace = options.multiWorkspace ?? false;
  const jobs = options.jobs ?? NO_JOBS;
  return {
    knex,
    now,
    links,
    directory: options.directory,
    notifier: options.notifier ?? NOBODY,
    jobs,
    settings: {
      multiWorkspace,
      sharedLinks: options.sharedLinks ?? false,
      requestsChannel: options.requestsChannel,
    },
    accounts: new AccountService({ knex }),
    members: new MemberService({ knex, now, jobs }),
    invites: new InviteService({
      knex,
      links,
      now,
      ttlSeconds: options.inviteTtlSeconds,
      inviteLimitPerDay: options.inviteLimitPerDay ?? 0,
      multiWorkspace,
      jobs,
      reminderBeforeSeconds: options.reminderBeforeSeconds ?? null,
    }),
    audit: new AuditService({ knex, now }),
    requests: new RequestClaims({ knex, now }),
    rateCounts: new RateCounts({ knex, now }),
    installations: options.tokenEncryptionKey
      ? new InstallationService({
          knex,
          now,
          vault: new InstallationVault({ knex, encryptionKey: options.tokenEncryptionKey, now }),
        })
      : undefined,
  };
}

export type { Jobs } from './jobs.js';
export type { Delivery, FileToTell, InvitationShows, Notice, Notifier, SentAt } from './notifier.js';
export type { Directory, Gathered, GatherFailure, Lookup, SlackPerson, Source } from './people.js';
export * from './types.js';
export type {
  AccountService,
  AuditService,
  InstallationService,
  InviteService,
  MemberService,
  RateCounts,
  RequestClaims,
};
