// Bring an invitation's DM up to date (a job, when the invitation's state changed or its time
// ran out): the DM then says what became of the invitation, and offers no button that no
// longer works. Safe to run any number of times.
import type { Services } from '../index.js';
import { inviteState } from '../invites.js';
import type { Delivery, InvitationShows } from '../notifier.js';
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
  | { changed: false; why: 'no_dm' | 'pending' | 'up_to_date' }
  | { changed: true; shows: InvitationShows }
  | { changed: false; why: 'not_delivered'; delivery: Extract<Delivery, { ok: false }> };

export async function refreshInvitationDm(services: Services, input: { inviteId: string }): Promise<RefreshOutcome> {
  const row = await services
    .knex('invites')
    .join('accounts', 'accounts.id', 'invites.account_id')
    .join('invitation_dms', 'invitation_dms.invite_id', 'invites.id')
    .where('invites.id', input.inviteId)
    .first(
      'invites.*',
      services.knex.raw('row_to_json(accounts.*) AS account'),
      'invitation_dms.channel AS dm_channel',
      'invitation_dms.ts AS dm_ts',
      'invitation_dms.shows AS dm_shows',
    );
  if (!row?.dm_channel || !row.dm_ts) return { changed: false, why: 'no_dm' };
  const invite = toInvite(row);
  const shows = invitationShows(invite, services.now());
  if (!shows) return { changed: false, why: 'pending' };
  if (row.dm_shows === shows) return { changed: false, why: 'up_to_date' };
  const account = toAccount(row.account as Record<string, unknown>);
  const delivery = await services.notifier.update(
    account,
    { channel: row.dm_channel as string, ts: row.dm_ts as string },
    { kind: 'invitation_ended', invite, shows },
  );
  if (!delivery.ok) return { changed: false, why: 'not_delivered', delivery };
  await services.knex('invitation_dms').where({ invite_id: invite.id }).update({ shows });
  return { changed: true, shows };
}
