import type { Refusal } from './services/types.js';

// The one place where the services' refusals become words, so the command, the console and
// the registration pages say the same thing. Plain text: each surface escapes it its own way.

const TEXT: Record<Refusal, string> = {
  not_member:
    'You are not registered in this ChatBees account. Ask an AccountAdmin to invite you with /chatbees-users invite @you.',
  not_admin: 'This needs the AccountAdmin role, and you are an AccountUser.',
  last_admin: 'The account must keep at least one AccountAdmin: promote someone else first.',
  unknown_member: 'That person is not an active member of this account.',
  already_member: 'Already a member of this account.',
  invite_unknown: 'This link is not valid.',
  invite_expired: 'This registration link has expired. Ask the person who invited you for a new one.',
  invite_revoked:
    'This registration link was withdrawn by an AccountAdmin. Ask them for a new one if you still need access.',
  invite_replaced: 'A newer registration link was sent to you in Slack. Use the latest link instead.',
  invite_used: 'This registration link has already been used.',
  identity_required:
    'Registering through a shared link needs Sign in with Slack, which is not set up here. Ask an AccountAdmin for a personal invite.',
  wrong_person: 'This registration link was made for someone else. Ask an AccountAdmin for your own invite.',
  wrong_account: 'This link is for a different Slack workspace.',
  inviter_cannot_invite:
    'The admin who made this link can no longer invite people, so it no longer works. Ask an AccountAdmin for a new one.',
  app_not_installed:
    'ChatBees Users is not installed in this Slack workspace now, so its links do not work. Ask an AccountAdmin to install it again, then for a new link if this one still fails.',
  not_in_workspace:
    'This invitation is for someone who is not an active member of the Slack workspace, so it no longer works.',
  guest_needs_personal_invite:
    'Guests of the Slack workspace can join only with a personal invite. Ask an AccountAdmin to invite you by name.',
  slack_unavailable: 'Slack did not answer in time, so nothing changed. Try again in a minute.',
  invite_limit: 'You reached the number of invitations an AccountAdmin may send in 24 hours.',
  invitee_invite_limit: 'This person was already invited as often as anyone may in 24 hours.',
  request_open: 'You asked already; your request is open and the AccountAdmins have it.',
  request_unknown: 'There is no such access request.',
  request_denied_recently: 'An AccountAdmin did not approve your last request; you can ask again 24 hours after it.',
  request_decided: 'That access request was decided already.',
  not_in_channel:
    'The app is not in that channel, so it cannot post requests there. Add it first (in the channel: /invite @ChatBees Users), then choose the channel again.',
  channel_not_found:
    'The app cannot see that channel: for a private channel, add the app to it first (/invite @ChatBees Users), then choose it again.',
  channel_archived: 'That channel is archived: choose another one.',
  source_not_found:
    'I cannot see that channel or user group: for a private channel, add the app to it first (/invite @ChatBees Users), then try again.',
  missing_scope:
    "The app needs more permissions for this: reinstall the app to allow inviting channels (whoever installs apps in this workspace can do it from the app's page).",
  files_not_allowed:
    "The app may not upload files in this workspace: reinstall it to allow files (whoever installs apps in this workspace can do it from the app's page), then export again.",
  file_not_delivered: 'Slack did not take the file, so nothing was shared. Try again in a minute.',
  bulk_not_counted: 'That invitation was already started, cancelled or finished: nothing changed.',
  bulk_unknown: 'There is no such invitation.',
  bulk_running:
    'Another invitation of a channel or user group is still being sent in this account: stop it or wait until it is done.',
  no_pages:
    'Links for anyone open a registration page, and this app serves none: whoever runs it can set PUBLIC_URL to where it is reachable. Invite people by name instead: /chatbees-users invite @person',
};

/**
 * What a person is told. `about` makes it particular where the page knows more: whom a personal
 * invite is for, and whom the person signed in as.
 */
export function refusalText(reason: Refusal, about: { invitee?: string | null; signedInAs?: string } = {}): string {
  if (reason === 'wrong_person' && about.signedInAs) {
    return `This invitation is for ${about.invitee ? `@${about.invitee}` : 'someone else'}, and you signed in with Slack as ${about.signedInAs}. Ask an AccountAdmin for your own invite.`;
  }
  return TEXT[reason];
}

const FOR_ADMINS: Partial<Record<Refusal, string>> = {
  invite_unknown: 'No invite of this account has that id; `/chatbees-users invites` lists the pending ones.',
  invite_revoked: 'That invite was already revoked.',
  invite_replaced: 'That invite was already replaced by a newer one.',
  invite_used: 'That invite was already used.',
  invite_expired: 'That invite has already expired.',
  inviter_cannot_invite: 'That invite already stopped working: the admin who made it can no longer invite people.',
  not_in_workspace: 'That invite already stopped working: the person it was for was deactivated in Slack.',
  identity_required:
    'Registration links for anyone need Sign in with Slack, which is not configured for this app, so that each person registers as themselves. Invite people by name instead: /chatbees-users invite @person',
};

/** The same refusals as an admin managing invites should read them (not as the invitee). */
export function adminRefusalText(reason: Refusal): string {
  return FOR_ADMINS[reason] ?? TEXT[reason];
}

/** A short title for pages. */
export const REFUSAL_TITLE: Partial<Record<Refusal, string>> = {
  invite_unknown: 'Link not valid',
  invite_expired: 'Link expired',
  invite_revoked: 'Link withdrawn',
  invite_replaced: 'Link replaced',
  invite_used: 'Link already used',
  identity_required: 'Sign in with Slack needed',
  wrong_person: 'Link for someone else',
  wrong_account: 'Different workspace',
  inviter_cannot_invite: 'Link no longer works',
  app_not_installed: 'App not installed',
  not_in_workspace: 'Invitation no longer works',
  guest_needs_personal_invite: 'Guests need a personal invite',
  slack_unavailable: 'Try again in a minute',
};
