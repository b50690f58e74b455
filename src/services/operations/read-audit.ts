// The account's latest changes (`/chatbees-users audit`).
import { IS_ADMIN_SQL, readAsAdmin } from '../checks.js';
import type { Services } from '../index.js';
import { AUDIT_COLUMNS, toAuditEntry } from '../rows.js';
import type { Actor, AuditEntry, Result } from '../types.js';

export const MAX_AUDIT_ENTRIES = 50;

/** The latest changes in the account, newest first. */
export async function readAudit(
  services: Services,
  actor: Actor,
  input: { limit: number },
): Promise<Result<{ entries: AuditEntry[] }, 'not_member' | 'not_admin'>> {
  // Refused attempts are recorded too, but they are not changes: the list leaves them out.
  const read = await readAsAdmin(
    services.knex,
    'audit_latest',
    `SELECT l.* FROM audit_log l
     WHERE l.account_id = $1 AND l.action <> 'access.refused' AND ${IS_ADMIN_SQL}
     ORDER BY l.id DESC LIMIT $3`,
    AUDIT_COLUMNS,
    'chunk.id DESC',
    actor,
    [Math.max(1, Math.min(MAX_AUDIT_ENTRIES, Math.floor(input.limit)))],
  );
  return read.ok ? { ok: true, entries: read.rows.map(toAuditEntry) } : read;
}
