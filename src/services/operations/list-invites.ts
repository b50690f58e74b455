// The registration links that can still be used (`/chatbees-users invites`, the console).
import { IS_ADMIN_SQL, readAsAdmin, usableInvite } from '../checks.js';
import type { Services } from '../index.js';
import { INVITE_COLUMNS, toInvite } from '../rows.js';
import type { Actor, Invite, Result } from '../types.js';

export const MAX_INVITES_LISTED = 500;

/** Invites that can still be used, soonest to expire first. */
export async function listInvites(
  services: Services,
  actor: Actor,
  input: { limit?: number } = {},
): Promise<Result<{ invites: Invite[] }, 'not_member' | 'not_admin'>> {
  const limit = Math.max(1, Math.min(input.limit ?? 100, MAX_INVITES_LISTED));
  const read = await readAsAdmin(
    services.knex,
    'invites_pending',
    `SELECT i.* FROM invites i
     WHERE i.account_id = $1 AND ${usableInvite('i', '$3')} AND ${IS_ADMIN_SQL}
     ORDER BY i.expires_at, i.id LIMIT $4`,
    INVITE_COLUMNS,
    'chunk.expires_at, chunk.id',
    actor,
    [services.now(), limit],
  );
  return read.ok ? { ok: true, invites: read.rows.map(toInvite) } : read;
}
