// An access request nobody decided in its lifetime (a job): it expires, its person is told, and
// every copy says so. Only while it is still open: a decision that came first wins.
import type { Services } from '../index.js';

export async function expireRequest(services: Services, input: { requestId: number }): Promise<{ expired: boolean }> {
  const [row] = await services
    .knex('access_requests')
    .where({ id: input.requestId, status: 'open' })
    .update({ status: 'expired', decided_at: services.now() })
    .returning('*');
  if (!row) return { expired: false };
  const account = await services.accounts.get(Number(row.account_id));
  if (!account) return { expired: true };
  const requester = row.slack_user_id as string;
  await services.notifier.tell(account, requester, { kind: 'access_expired' });
  const copies = await services.knex('access_request_copies').where({ request_id: row.id });
  for (const copy of copies) {
    await services.notifier.update(
      account,
      { channel: copy.channel, ts: copy.ts },
      { kind: 'access_request_expired', requester },
    );
  }
  return { expired: true };
}
