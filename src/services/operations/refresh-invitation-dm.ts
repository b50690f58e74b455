// Bring an invitation's DMs up to date (a job, when the invitation's state changed or its time
// ran out): the invitation and its reminder then say what became of the invitation, and offer no
// button that no longer works. Safe to run any number of times, in any order.
import type { Services } from '../index.js';
import { inviteState } from '../invites.js';
import type { Delivery, InvitationShows, SentAt } from '../notifier.js';
import { toAccount, toInvite } from '../rows.js';
import type { Invite, RevokeReason } from '../types.js';

const SHOWS_WHEN_REVOKED: Record<RevokeReason, InvitationShows> = {
  revoked: 'revoked',
  replaced: 'replaced',
  inviter_removed: 'ended',
  inviter_demoted: 'ended',
  invitee_removed: 'revoked',
  invitee_deactivated: 'ended',
};

/** What an invitation's DM should show now; undefined while it is pending (it shows the invitation). */
export function invitationShows(invite: Invite, now: Date): InvitationShows | undefined {
  switch (inviteState(invite, now)) {
    case 'used':
      return 'joined';
    case 'revoked':
      return SHOWS_WHEN_REVOKED[invite.revokeReason ?? 'revoked'];
    case 'expired':
      return 'expired';
    default:
      return undefined;
  }
}

export type RefreshOutcome =
  | { changed: false; why: 'no_dm' | 'up_to_date' }
  /** Still pending; `expiresAt` is near: the job's clock ran ahead of the app's. */
  | { changed: false; why: 'pending'; expiresAt: Date }
  | { changed: true; shows: InvitationShows }
  | { changed: false; why: 'not_delivered'; delivery: Extract<Delivery, { ok: false }> };

async function read(services: Services, inviteId: string) {
  const row = await services
    .knex('invites')
    .join('accounts', 'accounts.id', 'invites.account_id')
    .join('invitation_dms', 'invitation_dms.invite_id', 'invites.id')
    .where('invites.id', inviteId)
    .first(
      'invites.*',
      services.knex.raw('row_to_json(accounts.*) AS account'),
      'invitation_dms.channel AS dm_channel',
      'invitation_dms.ts AS dm_ts',
      'invitation_dms.reminder_channel AS reminder_channel',
      'invitation_dms.reminder_ts AS reminder_ts',
      'invitation_dms.shows AS dm_shows',
    );
  if (!row) return undefined;
  const messages: SentAt[] = [];
  if (row.dm_channel && row.dm_ts) messages.push({ channel: row.dm_channel, ts: row.dm_ts });
  if (row.reminder_channel && row.reminder_ts) messages.push({ channel: row.reminder_channel, ts: row.reminder_ts });
  return {
    invite: toInvite(row),
    account: toAccount(row.account as Record<string, unknown>),
    messages,
    shown: (row.dm_shows as InvitationShows | null) ?? null,
  };
}

export async function refreshInvitationDm(services: Services, input: { inviteId: string }): Promise<RefreshOutcome> {
  let outcome = await refreshOnce(services, input.inviteId);
  // An expired invitation may be replaced meanwhile (Invite again): what the DM shows is the last.
  for (let again = 0; outcome.changed && again < 2; again++) {
    const next = await refreshOnce(services, input.inviteId);
    if (!next.changed) break;
    outcome = next;
  }
  return outcome;
}

async function refreshOnce(services: Services, inviteId: string): Promise<RefreshOutcome> {
  const found = await read(services, inviteId);
  if (!found || found.messages.length === 0) return { changed: false, why: 'no_dm' };
  const { invite, account, messages, shown } = found;
  const shows = invitationShows(invite, services.now());
  if (!shows) return { changed: false, why: 'pending', expiresAt: invite.expiresAt };
  if (shown === shows) return { changed: false, why: 'up_to_date' };
  // Claimed before Slack is asked, over what was read: of two refreshes at once (two jobs, two
  // processes), one changes the messages.
  const claimed = await services
    .knex('invitation_dms')
    .where({ invite_id: invite.id })
    .whereRaw('shows IS NOT DISTINCT FROM ?', [shown])
    .update({ shows });
  if (Number(claimed) === 0) return { changed: false, why: 'up_to_date' };
  for (const at of messages) {
    const delivery = await services.notifier.update(account, at, { kind: 'invitation_ended', invite, shows });
    if (!delivery.ok) {
      // Given back, for the job's next try.
      await services.knex('invitation_dms').where({ invite_id: invite.id, shows }).update({ shows: shown });
      return { changed: false, why: 'not_delivered', delivery };
    }
  }
  return { changed: true, shows };
}
