// The HTML page answers of the public pages: a page, a 303 on to another, and a refused link.
import type { ServerResponse } from 'node:http';
import { REFUSAL_TITLE, refusalText } from '../refusal-text.js';
import { setOutcome } from '../request-log.js';
import type { InviteDetails } from '../services/invites.js';
import type { Refusal } from '../services/types.js';
import { pageHeaders } from './http.js';
import { messagePage, STYLE_HASH } from './pages.js';
import type { SlackSignInUser } from './slack-sign-in.js';

const STATUS: Partial<Record<Refusal, number>> = {
  invite_unknown: 404,
  invite_expired: 410,
  invite_revoked: 410,
  invite_replaced: 410,
  invite_used: 410,
  slack_unavailable: 503,
};

export function send(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...pageHeaders(STYLE_HASH), ...extra, 'Content-Length': String(Buffer.byteLength(html)) });
  res.end(html);
}

/** A 303 to `location`, nothing cached or leaked on the way. */
export function seeOther(res: ServerResponse, location: string, cookies: string[] = []): void {
  res.writeHead(303, {
    Location: location,
    ...(cookies.length ? { 'Set-Cookie': cookies } : {}),
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  });
  res.end();
}

/**
 * A refused link, in a person's words: 404 for a link that never existed, 410 for one that ended,
 * 503 (try again) when Slack did not answer, 403 for the rest. A personal invite refused to
 * someone else names whom it is for.
 */
export function sendRefusal(
  res: ServerResponse,
  reason: Refusal,
  about: { details?: InviteDetails; signedIn?: SlackSignInUser } = {},
): void {
  setOutcome(res, `refused:${reason}`);
  const status = STATUS[reason] ?? 403;
  const text = refusalText(reason, {
    invitee: about.details?.invite.forDisplayName,
    signedInAs: about.signedIn ? (about.signedIn.name ?? about.signedIn.slackUserId) : undefined,
  });
  send(res, status, messagePage(REFUSAL_TITLE[reason] ?? 'Not possible', text), {
    ...(status === 503 ? { 'Retry-After': '60' } : {}),
  });
}
