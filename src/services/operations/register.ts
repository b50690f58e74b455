// Register through a registration link: the page a signed-in person sees before confirming
// (`identify`), and the confirmation itself (`register`), which welcomes them and tells the admin
// whose link it was.
import { recordAudit, recordRefusal } from '../audit-log.js';
import { deactivatedInSlack, findMember, lockAccount, usableInvite } from '../checks.js';
import { inTransaction } from '../db.js';
import type { Services } from '../index.js';
import { type InviteDetails, type LinkRefusal, linkAuthority, refusalFor } from '../invites.js';
import { JOB } from '../jobs.js';
import { makeMember } from '../membership.js';
import { mayJoin, NOT_FOUND_AS, type SlackPerson, sameWorkspace } from '../people.js';
import { toInvite } from '../rows.js';
import {
  type Account,
  type AuditSource,
  type Invite,
  type Member,
  type Profile,
  type Refused,
  refuse,
} from '../types.js';

/** Whether a link would take someone: who, or why not (with what the link is, when it is known). */
export type Admission = ({ ok: true } & Admitted) | (Refused<AcceptRefusal> & { details?: InviteDetails });

export type AcceptRefusal =
  | LinkRefusal
  | 'identity_required'
  | 'wrong_person'
  | 'wrong_account'
  | 'guest_needs_personal_invite'
  | 'slack_unavailable';

export type RegisterOutcome =
  | { ok: true; member: Member; account: Account; invite: Invite; alreadyMember: boolean }
  | (Refused<AcceptRefusal> & { details?: InviteDetails });

/** Who a person is, as Slack vouched for them (Sign in with Slack). */
export interface VerifiedIdentity {
  slackUserId: string;
  /** The Slack workspace the identity was verified in. */
  teamId: string;
  /** Its Enterprise Grid org, if any. */
  enterpriseId?: string | null;
}

/** Who a link would take, and what is known of them: their membership, or Slack's word. */
export type Admitted = InviteDetails & { slackUserId: string; member?: Member; person?: SlackPerson };

/**
 * Who would join through this link, and whether they may, by every rule but the use itself:
 * the link's state and authority; for a personal invite, that the identity (when given) is the
 * invited person; for a link for anyone, a verified identity of the account's own workspace;
 * and, asked of Slack now, that the person is an active person of it (a guest only by a personal
 * invite). A refusal of someone Slack vouched for is audited. Refusals carry what the link is,
 * for the page that explains them.
 */
/** A registration link, by its token (a page), or an invite Slack names (a DM's Accept button). */
export type LinkRef = string | { inviteId: string };

async function admit(
  services: Services,
  link: LinkRef,
  identity: VerifiedIdentity | undefined,
  source: AuditSource,
): Promise<Admission> {
  const inspected =
    typeof link === 'string' ? await services.invites.inspect(link) : await services.invites.inspectById(link.inviteId);
  if (!inspected.ok) return inspected;
  const { ok: _, ...details } = inspected;
  const { invite, account } = details;
  const refused = async (reason: AcceptRefusal, audited?: string) => {
    if (audited) await auditRefusal(services, account, invite, audited, source, reason);
    return { ...refuse(reason), details };
  };
  // Only a personal invitation's DM has an Accept button: nothing else is accepted that way.
  if (source === 'invitation_dm' && !invite.forSlackUserId) return refused('wrong_person');
  let slackUserId: string;
  if (invite.forSlackUserId) {
    if (identity && identity.slackUserId !== invite.forSlackUserId)
      return refused('wrong_person', identity.slackUserId);
    slackUserId = invite.forSlackUserId;
  } else {
    if (!identity) return refused('identity_required');
    if (!sameWorkspace(account, { teamId: identity.teamId, enterpriseId: identity.enterpriseId ?? null })) {
      return refused('wrong_account');
    }
    slackUserId = identity.slackUserId;
  }

  const existing = await findMember(services.knex, account.id, slackUserId);
  if (existing?.status === 'active') return { ok: true, ...details, slackUserId, member: existing };

  const lookup = await services.directory.lookup(account, slackUserId);
  if (!lookup.found) return refused(NOT_FOUND_AS[lookup.why]);
  const may = mayJoin(account, lookup.person, invite.forSlackUserId ? 'personal_invite' : 'shared_link');
  if (!may.ok) return refused(may.reason, identity ? slackUserId : undefined);
  return { ok: true, ...details, slackUserId, person: lookup.person };
}

/**
 * For the page a signed-in person sees before confirming: whether this link would take them,
 * without using it. Changes nothing but the audit of a refused person.
 */
export async function identify(services: Services, token: string, identity: VerifiedIdentity): Promise<Admission> {
  return admit(services, token, identity, 'registration_page');
}

/**
 * Registers a person through a registration link, as AccountUser, if `admit` lets them: the
 * checks are made again under the account's lock, where the link is used up. An active
 * member stays as is and the link is not used.
 */
export async function register(
  services: Services,
  link: LinkRef,
  options: { identity?: VerifiedIdentity; profile?: Profile; source?: AuditSource } = {},
): Promise<RegisterOutcome> {
  const source = options.source ?? 'registration_page';
  // Slack is asked here, outside the transaction: no lock is held while Slack answers.
  const admitted = await admit(services, link, options.identity, source);
  if (!admitted.ok) return admitted;
  const { ok: _, member: existing, person, slackUserId, ...details } = admitted;
  const { invite, account } = details;
  if (existing) return { ok: true, member: existing, account, invite, alreadyMember: true };
  const profile = {
    displayName: person?.displayName ?? options.profile?.displayName ?? invite.forDisplayName,
    email: person?.email ?? options.profile?.email ?? null,
  };

  const done = await inTransaction(services.knex, async (trx): Promise<RegisterOutcome> => {
    // Under the account's lock: a demotion, removal, revocation or Slack deactivation is either
    // wholly before this or wholly after it.
    await lockAccount(trx, account.id);
    const now = services.now();
    const current = toInvite(await trx('invites').where({ id: invite.id }).first());
    const refusal =
      refusalFor(current, now) ??
      (await linkAuthority(trx, current, account, services.settings.multiWorkspace)) ??
      ((await deactivatedInSlack(trx, account.id, slackUserId)) ? refuse('not_in_workspace') : undefined);
    if (refusal) return { ...refusal, details };

    const before = await findMember(trx, account.id, slackUserId);
    if (before?.status === 'active') return { ok: true, member: before, account, invite: current, alreadyMember: true };

    // One statement decides who gets the last use, however many try at once.
    const [used] = await trx('invites')
      .where({ id: invite.id })
      .whereRaw(usableInvite('invites', '?'), [now])
      .update({ uses: trx.raw('uses + 1'), last_used_at: now })
      .returning('*');
    if (!used) return { ...refuse('invite_used'), details };

    const member = await makeMember(
      trx,
      account.id,
      slackUserId,
      { role: invite.role, invitedBy: invite.createdBy, inviteId: invite.id },
      profile,
      now,
    );
    // Its DMs (the invitation and any reminder) say so, whichever way they joined.
    await services.jobs.later(trx, JOB.invitationDm, { inviteId: invite.id });
    await recordAudit(trx, {
      accountId: account.id,
      actor: slackUserId,
      action: 'member.registered',
      source,
      targetSlackUserId: slackUserId,
      targetInviteId: invite.id,
      before: before ? { status: before.status, role: before.role } : null,
      after: { status: 'active', role: invite.role, invitedBy: invite.createdBy },
      at: now,
    });
    return { ok: true, member, account, invite: toInvite(used), alreadyMember: false };
  });
  if (done.ok && !done.alreadyMember) {
    // Not awaited: the person's page does not wait for Slack (the notifier never throws).
    void services.notifier.tell(account, invite.createdBy, { kind: 'registered', member: slackUserId });
    // Joined from their invitation DM: that message itself says so.
    if (source !== 'invitation_dm') void services.notifier.tell(account, slackUserId, { kind: 'welcome' });
  }
  return done;
}

/** An attempt by a person Slack vouched for that a link refused, in the audit log, naming the link. */
function auditRefusal(
  services: Services,
  account: Account,
  invite: Invite,
  slackUserId: string,
  source: AuditSource,
  reason: AcceptRefusal,
): Promise<void> {
  return recordRefusal(
    services.knex,
    { accountId: account.id, slackUserId, source },
    { operation: 'register', reason, inviteId: invite.id, invitee: invite.forSlackUserId },
    services.now(),
  );
}
