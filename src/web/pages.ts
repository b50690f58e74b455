// Server-rendered registration pages: plain HTML and one inline stylesheet (allowed by its
// hash in the Content-Security-Policy), readable on a phone, no JavaScript.
import { createHash } from 'node:crypto';
import type { InviteDetails } from '../services/invites.js';
import type { Role } from '../services/types.js';
import { escapeHtml } from './http.js';

const STYLE = `
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f6f6f4;color:#1d1c1d;line-height:1.5}
main{max-width:32rem;margin:0 auto;padding:2.5rem 1.25rem}
.card{background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;margin:0 0 1rem}
p{margin:.75rem 0}
.muted{color:#616061;font-size:.9rem}
button{font:inherit;font-weight:600;color:#fff;background:#007a5a;border:0;border-radius:8px;padding:.8rem 1.2rem;width:100%;cursor:pointer;margin-top:1rem}
button:focus{outline:3px solid #1264a3;outline-offset:2px}
a.button{display:block;text-align:center;text-decoration:none;font-weight:600;color:#fff;background:#4a154b;border-radius:8px;padding:.8rem 1.2rem;margin-top:1rem}
a.button:focus{outline:3px solid #1264a3;outline-offset:2px}
`.trim();

export const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)} · ChatBees</title>
<style>${STYLE}</style>
</head>
<body><main><div class="card">
<h1>${escapeHtml(title)}</h1>
${body}
</div></main></body>
</html>`;
}

// Made once: `toLocaleString` with options builds a formatter on every call (6.5 % of a
// registration page's CPU in a profile).
const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export function formatDate(date: Date): string {
  return `${DATE_FORMAT.format(date)} UTC`;
}

function accountLabel(details: InviteDetails): string {
  return details.account.name ?? 'this ChatBees account';
}

export function confirmPage(details: InviteDetails, formAction: string, csrf: string): string {
  const { invite } = details;
  const account = escapeHtml(accountLabel(details));
  const inviter = escapeHtml(details.inviterName ?? 'An AccountAdmin');
  const invitee = invite.forSlackUserId ? escapeHtml(invite.forDisplayName ?? 'you') : null;
  return layout(
    `Join ${accountLabel(details)}`,
    `<p>${inviter} invited ${invitee ?? 'you'} to join <strong>${account}</strong> on ChatBees as an <strong>AccountUser</strong> (read-only access).</p>
${invitee ? `<p>This link is for <strong>${invitee}</strong> only.</p>` : ''}
<p class="muted">The link expires ${escapeHtml(formatDate(invite.expiresAt))}. Nothing happens until you confirm.</p>
<form method="post" action="${escapeHtml(formAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<button type="submit">Confirm and join ${account}</button>
</form>`,
  );
}

/**
 * With Sign in with Slack: first "Continue with Slack" (a plain link, so the way to Slack's
 * origin is a navigation, not a form the page's CSP would have to allow), then, signed in,
 * confirm as that person. For a link for anyone, and for a personal invite, whose person then
 * shows who they are.
 */
export function signInPage(
  details: InviteDetails,
  forms: { action: string; signIn: string; csrf: string },
  signedInAs: string | null,
): string {
  const { invite } = details;
  const account = escapeHtml(accountLabel(details));
  const inviter = escapeHtml(details.inviterName ?? 'An AccountAdmin');
  const invitee = invite.forSlackUserId ? escapeHtml(invite.forDisplayName ?? 'one person') : null;
  const left =
    invite.maxUses === null || invitee
      ? ''
      : ` It can be used ${invite.maxUses - invite.uses} more time${invite.maxUses - invite.uses === 1 ? '' : 's'}.`;
  const intro = invitee
    ? `<p>${inviter} invited <strong>${invitee}</strong> to join <strong>${account}</strong> on ChatBees as an <strong>AccountUser</strong> (read-only access).</p>
<p>This invitation is for <strong>${invitee}</strong> only.</p>`
    : `<p>${inviter} shared a link to join <strong>${account}</strong> on ChatBees as an <strong>AccountUser</strong> (read-only access).</p>`;
  const when = `<p class="muted">The link expires ${escapeHtml(formatDate(invite.expiresAt))}.${left} Nothing happens until you confirm.</p>`;
  if (signedInAs === null) {
    return layout(
      `Join ${accountLabel(details)}`,
      `${intro}
${when}
<p>Slack tells us who you are, so that you join as yourself.</p>
<a class="button" href="${escapeHtml(forms.signIn)}">Continue with Slack</a>`,
    );
  }
  return layout(
    `Join ${accountLabel(details)}`,
    `${intro}
${when}
<p>Signed in with Slack as <strong>${escapeHtml(signedInAs)}</strong>.</p>
<form method="post" action="${escapeHtml(forms.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(forms.csrf)}">
<button type="submit">Confirm and join ${account}</button>
</form>
<p class="muted">Not you? <a href="${escapeHtml(forms.signIn)}">Continue with Slack</a> as someone else.</p>`,
  );
}

/** After joining (or finding one is a member already); `appUrl`: the product's sign-in page, when known. */
export function joinedPage(accountName: string | null, role: Role, alreadyMember: boolean, appUrl?: string): string {
  const account = escapeHtml(accountName ?? 'the account');
  const open = appUrl ? `\n<a class="button" href="${escapeHtml(appUrl)}">Open ChatBees</a>` : '';
  return layout(
    alreadyMember ? 'You are already a member' : 'You are in',
    alreadyMember
      ? `<p>You are already a member of <strong>${account}</strong>, as an <strong>${role}</strong>. Nothing changed.</p>${open}`
      : `<p>You are now an <strong>${role}</strong> of <strong>${account}</strong> on ChatBees.</p>
<p>Back in Slack, type <code>/chatbees-users whoami</code> to see your role.${appUrl ? '' : ' You can close this page.'}</p>${open}`,
  );
}

export function messagePage(title: string, text: string): string {
  return layout(title, `<p>${escapeHtml(text)}</p>`);
}

/** /slack/install: what the app does and asks for, and the way to Slack's consent page. */
export function installPage(authorizeUrl: string): string {
  return layout(
    'Add ChatBees Users to Slack',
    `<p>ChatBees Users lets the AccountAdmins of your ChatBees account invite people, see who is in it and manage roles, from Slack, with <code>/chatbees-users</code>.</p>
<p class="muted">It asks Slack for a slash command, direct messages for invitations, and people's names and email addresses, to check that an invitee is a real, active member of your workspace. Whoever installs it in a workspace becomes its first AccountAdmin.</p>
<a class="button" href="${escapeHtml(authorizeUrl)}">Add to Slack</a>`,
  );
}

/** After Slack's consent page: installed, and what that made of the installer. */
export function installedPage(options: {
  accountName: string | null;
  installer: 'made_admin' | 'already_admin' | 'not_made_admin';
  reinstall: boolean;
  openSlackUrl: string | null;
}): string {
  const account = escapeHtml(options.accountName ?? 'your workspace');
  const role =
    options.installer === 'made_admin'
      ? `<p>You are its first <strong>AccountAdmin</strong>: you can invite people and manage roles.</p>`
      : options.installer === 'already_admin'
        ? `<p>You are an <strong>AccountAdmin</strong> of it.</p>`
        : `<p>The account already has AccountAdmins; ask one of them if you need access.</p>`;
  const open = options.openSlackUrl
    ? `<a class="button" href="${escapeHtml(options.openSlackUrl)}">Open Slack</a>`
    : '';
  return layout(
    options.reinstall ? 'ChatBees Users installed again' : 'ChatBees Users is installed',
    `<p>ChatBees Users now serves <strong>${account}</strong>.</p>
${role}
<p>In Slack, type <code>/chatbees-users</code> to open the console, or <code>/chatbees-users help</code>. You can close this page.</p>
${open}`,
  );
}
