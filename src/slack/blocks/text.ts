// mrkdwn helpers. Everything a person typed or Slack told us about a person (names, command
// text) goes through `escapeMrkdwn`, so a name like <!channel> is shown, never acted on.

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const USER_ID = /^[UW][A-Z0-9]{1,30}$/;

/** A mention Slack renders as the person's current name. */
export function mention(slackUserId: string): string {
  return USER_ID.test(slackUserId) ? `<@${slackUserId}>` : escapeMrkdwn(slackUserId);
}

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * A date every reader sees in their own time zone; the fallback is UTC, "2026-12-02 11:16 UTC"
 * (put together from its parts: a quarter of the time of `toISOString` and cutting it, for
 * each line of a page of members or invites).
 */
export function slackDate(date: Date, format = '{date_short_pretty} at {time}'): string {
  const seconds = Math.floor(date.getTime() / 1000);
  const day = `${date.getUTCFullYear()}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}`;
  const fallback = `${day} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())} UTC`;
  return `<!date^${seconds}^${format}|${fallback}>`;
}

export function slackDay(date: Date): string {
  return slackDate(date, '{date_short}');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** A link with a label, for mrkdwn. The URL must be ours (no user text). */
export function link(url: string, label: string): string {
  return `<${url}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>`;
}
