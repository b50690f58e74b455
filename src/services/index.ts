import type { Knex } from 'knex';
import { AccountService } from './accounts.js';
import { AuditService } from './audit.js';
import { InstallationService, InstallationVault } from './installations.js';
import { InviteService } from './invites.js';
import { MemberService } from './members.js';
import type { Directory } from './people.js';
import type { RegistrationLinks } from './registration-links.js';
import { RequestClaims } from './request-claims.js';

export interface Services {
  accounts: AccountService;
  members: MemberService;
  invites: InviteService;
  audit: AuditService;
  requests: RequestClaims;
  /** The workspaces' installations: multi-workspace mode only. */
  installations?: InstallationService;
}

export interface ServiceOptions {
  knex: Knex;
  links: RegistrationLinks;
  /** Lifetime of a new registration link, in seconds. */
  inviteTtlSeconds: number;
  /** Invitations one admin may make in 24 hours (0: no limit); none unless said. */
  inviteLimitPerDay?: number;
  /** Multi-workspace mode: the key the workspaces' tokens are encrypted with. */
  tokenEncryptionKey?: string;
  /** What Slack says about people, asked when a registration link is used. */
  directory: Directory;
  /** Many workspaces install the app (OAuth); a workspace's links work only while it is installed. */
  multiWorkspace?: boolean;
  /** Sign in with Slack is set up, so links for anyone can be made (and used). */
  sharedLinks?: boolean;
  now?: () => Date;
}

export function createServices(options: ServiceOptions): Services {
  const now = options.now ?? (() => new Date());
  const { knex, links } = options;
  return {
    accounts: new AccountService({ knex }),
    members: new MemberService({ knex, now }),
    invites: new InviteService({
      knex,
      links,
      now,
      ttlSeconds: options.inviteTtlSeconds,
      inviteLimitPerDay: options.inviteLimitPerDay ?? 0,
      directory: options.directory,
      multiWorkspace: options.multiWorkspace ?? false,
      sharedLinks: options.sharedLinks ?? false,
    }),
    audit: new AuditService({ knex, now }),
    requests: new RequestClaims({ knex, now }),
    installations: options.tokenEncryptionKey
      ? new InstallationService({
          knex,
          now,
          vault: new InstallationVault({ knex, encryptionKey: options.tokenEncryptionKey, now }),
        })
      : undefined,
  };
}

export type { Directory, Lookup, SlackPerson } from './people.js';
export * from './types.js';
export type { AccountService, AuditService, InstallationService, InviteService, MemberService, RequestClaims };
