import type { Knex } from 'knex';
import { AccountService } from './accounts.js';
import { AuditService } from './audit.js';
import { InviteService } from './invites.js';
import { MemberService } from './members.js';
import type { RegistrationLinks } from './registration-links.js';
import { RequestClaims } from './request-claims.js';

export interface Services {
  accounts: AccountService;
  members: MemberService;
  invites: InviteService;
  audit: AuditService;
  requests: RequestClaims;
}

export interface ServiceOptions {
  knex: Knex;
  links: RegistrationLinks;
  /** Lifetime of a new registration link, in seconds. */
  inviteTtlSeconds: number;
  now?: () => Date;
}

export function createServices(options: ServiceOptions): Services {
  const now = options.now ?? (() => new Date());
  const { knex, links } = options;
  return {
    accounts: new AccountService({ knex }),
    members: new MemberService({ knex, now }),
    invites: new InviteService({ knex, links, now, ttlSeconds: options.inviteTtlSeconds }),
    audit: new AuditService({ knex, now }),
    requests: new RequestClaims({ knex, now }),
  };
}

export * from './types.js';
export type { AccountService, AuditService, InviteService, MemberService, RequestClaims };
