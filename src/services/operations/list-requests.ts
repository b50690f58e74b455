// The open access requests (`/chatbees-users requests`, admins): oldest first, each with what the
// admins need to decide it, and how many are open in all.
import { IS_ADMIN_SQL, readAsAdmin } from '../checks.js';
import type { Services } from '../index.js';
import type { AccessRequestShown } from '../notifier.js';
import type { Actor, Result } from '../types.js';

export const MAX_REQUESTS_LISTED = 20;

export interface OpenRequest extends AccessRequestShown {
  createdAt: Date;
}

export async function listRequests(
  services: Services,
  actor: Actor,
): Promise<Result<{ requests: OpenRequest[]; open: number }, 'not_member' | 'not_admin'>> {
  const read = await readAsAdmin(
    services.knex,
    'requests_open',
    `SELECT r.id, r.slack_user_id, r.reason, r.guest, r.created_at,
       i.created_by AS invite_created_by, i.expires_at AS invite_expires_at,
       count(*) OVER () AS open
     FROM access_requests r LEFT JOIN invites i ON i.id = r.invite_id
     WHERE r.account_id = $1 AND r.status = 'open' AND ${IS_ADMIN_SQL}
     ORDER BY r.created_at, r.id LIMIT $3`,
    ['id', 'slack_user_id', 'reason', 'guest', 'created_at', 'invite_created_by', 'invite_expires_at', 'open'],
    'chunk.created_at, chunk.id',
    actor,
    [MAX_REQUESTS_LISTED],
  );
  if (!read.ok) return read;
  const requests = read.rows.map(
    (row): OpenRequest => ({
      id: Number(row.id),
      slackUserId: row.slack_user_id as string,
      reason: (row.reason as string | null) ?? null,
      guest: row.guest === true,
      createdAt: new Date(row.created_at as string),
      ...(row.invite_created_by
        ? {
            expiredInvite: {
              createdBy: row.invite_created_by as string,
              expiresAt: new Date(row.invite_expires_at as string),
            },
          }
        : {}),
    }),
  );
  return { ok: true, requests, open: Number(read.rows[0]?.open ?? 0) };
}
