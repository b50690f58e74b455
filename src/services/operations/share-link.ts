// Make a registration link for anyone of the workspace (`/chatbees-users invite link`).
import type { Services } from '../index.js';
import type { CreatedInvite, InviteCapReached } from '../invites.js';
import { type Actor, type Refused, refuse } from '../types.js';

export type ShareLinkOutcome =
  | ({ ok: true } & CreatedInvite & { url: string })
  | Refused<'not_member' | 'not_admin' | 'identity_required' | 'no_pages'>
  | InviteCapReached;

/**
 * A link anyone of the account's own workspace may use, for `ttlSeconds` (the configured lifetime
 * when not given) and `maxUses` people (no cap when not given). Whoever uses it is whoever Slack
 * says signs in: without Sign in with Slack nobody could, so none is made.
 */
export async function shareLink(
  services: Services,
  actor: Actor,
  input: { ttlSeconds?: number; maxUses?: number },
): Promise<ShareLinkOutcome> {
  // A link for anyone is a page to open: without PUBLIC_URL (Socket Mode) there is none.
  if (!services.links.pages) return refuse('no_pages');
  if (!services.settings.sharedLinks) return refuse('identity_required');
  const created = await services.invites.create(actor, {
    forSlackUserId: null,
    ttlSeconds: input.ttlSeconds,
    maxUses: input.maxUses ?? null,
  });
  // Nobody is named, so nobody can already be a member.
  if (!created.ok && created.reason === 'already_member') throw new Error('a link for anyone named a member');
  return created as ShareLinkOutcome;
}
