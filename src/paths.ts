// The public URL paths: a contract with Slack's app settings (manifest.yml), the README and the
// browser. Shared by the Slack layer, the web layer and the composition, which import nothing
// of each other.
export const SLACK_EVENTS_PATH = '/slack/events';
export const INSTALL_PATH = '/slack/install';
export const OAUTH_REDIRECT_PATH = '/slack/oauth_redirect';
export const REGISTER_PATH = '/register/';
/** Where Sign in with Slack sends a person back; registered as the app's redirect URL. */
export const SIGNED_IN_PATH = '/register/signed-in';
