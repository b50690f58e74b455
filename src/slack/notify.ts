import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';

export type Delivery = { ok: true } | { ok: false; error: string };

/** A short, token-free description of why a Slack call failed. */
export function slackError(err: unknown): string {
  const e = err as {
    code?: string;
    data?: { error?: string };
    statusCode?: number;
    retryAfter?: number;
    message?: string;
  };
  if (e?.data?.error) return e.data.error;
  if (e?.code === 'slack_webapi_rate_limited_error')
    return `rate limited by Slack${e.retryAfter ? ` (retry in ${e.retryAfter}s)` : ''}`;
  if (e?.code === 'slack_webapi_http_error') return `Slack answered HTTP ${e.statusCode ?? 'error'}`;
  if (e?.code === 'slack_webapi_request_error') return 'Slack could not be reached';
  return 'unexpected error';
}

/**
 * A direct message from the bot. Link previews are off: Slack's unfurler would otherwise
 * fetch every URL in it (our registration links among them).
 */
export async function sendDm(
  client: WebClient,
  logger: Logger,
  slackUserId: string,
  message: { text: string; blocks?: KnownBlock[] },
): Promise<Delivery> {
  try {
    const opened = await client.conversations.open({ users: slackUserId });
    const channel = opened.channel?.id;
    if (!channel) return { ok: false, error: 'no DM channel' };
    await client.chat.postMessage({
      channel,
      text: message.text,
      blocks: message.blocks,
      unfurl_links: false,
      unfurl_media: false,
    });
    return { ok: true };
  } catch (err) {
    const error = slackError(err);
    logger.warn({ slackUserId, error }, 'direct message not delivered');
    return { ok: false, error };
  }
}
