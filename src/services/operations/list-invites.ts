// The registration links that can still be used (`/chatbees-users invites [page N]`, the console).
import { IS_ADMIN_SQL, OPEN_REQUESTS_SQL, readAsAdmin, usableInvite } from '../checks.js';
import type { Services } from '../index.js';
import { INVITE_COLUMNS, toInvite } from '../rows.js';
import { type Actor, type Invite, pageNumber, type Result } from '../types.js';

export const MAX_INVITES_LISTED = 500;

export interface InvitePage {
  invites: Invite[];
  /** 1-based. */
  page: number;
  /** Whether a later page has some. */
  next: boolean;
  /** How many access requests wait, when asked for (`openRequests`). */
  openRequests?: number;
}

/**
 * Invites that can still be used, soonest to expire first, `limit` a page: page `page`, and
 * whether there is a next. Not counted: which invites can still be used depends on the time,
 * so no counter can be kept, and counting 500 of them cost `invites` about a tenth of its
 * requests a second (0.286 of bare Bolt's without the count, 0.24–0.26 with, 2026-12-02).
 * `openRequests`: the access requests waiting are counted in the same statement (the console
 * shows both: one round trip, not two).
 */
export async function listInvites(
  services: Services,
  actor: Actor,
  input: { limit?: number; page?: number; openRequests?: boolean } = {},
): Promise<Result<InvitePage, 'not_member' | 'not_admin'>> {
  const limit = Math.max(1, Math.min(input.limit ?? 100, MAX_INVITES_LISTED));
  const page = pageNumber(input.page);
  const read = await readAsAdmin(
    services.knex,
    input.openRequests ? 'invites_pending_and_requests' : 'invites_pending',
    `SELECT i.* FROM invites i
     WHERE i.account_id = $1 AND ${usableInvite('i', '$3')} AND ${IS_ADMIN_SQL}
     ORDER BY i.expires_at, i.id OFFSET $5 LIMIT $4`,
    INVITE_COLUMNS,
    'chunk.expires_at, chunk.id',
    actor,
    [services.now(), limit + 1, (page - 1) * limit],
    input.openRequests ? { open_requests: OPEN_REQUESTS_SQL } : {},
  );
  if (!read.ok) return read;
  return {
    ok: true,
    invites: read.rows.slice(0, limit).map(toInvite),
    page,
    next: read.rows.length > limit,
    ...(input.openRequests ? { openRequests: Number(read.also.open_requests ?? 0) } : {}),
  };
}
