import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { InFlight } from '../in-flight.js';
import type { Logger } from '../logger.js';
import type { Delivery, Notice, Notifier } from '../services/notifier.js';
import type { Account } from '../services/types.js';
import * as dm from './blocks/dm.js';
import type { Message } from './blocks/messages.js';

export type { Delivery } from '../services/notifier.js';

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

/** The text of a notice, as the DM that carries it. */
function dmOf(account: Account, notice: Notice): Message {
  switch (notice.kind) {
    case 'invitation':
      return dm.invitation(account, notice.invite, notice.url);
    case 'role_changed':
      return dm.roleChanged(account, notice.by, notice.role, notice.revokedInvites);
    case 'removed':
      return dm.removed(account, notice.by);
    case 'registered':
      return dm.registeredToInviter(account, notice.member);
    case 'welcome':
      return dm.welcome(account);
  }
}

/**
 * The domain's Notifier: each notice as a direct message, with the bot token of the account's
 * workspace. Every delivery is tracked, so a graceful stop waits for the ones under way.
 */
export function slackNotifier(
  clientFor: (account: Account) => Promise<WebClient | undefined>,
  logger: Logger,
  inFlight: InFlight,
): Notifier {
  return {
    tell(account, slackUserId, notice) {
      return inFlight.track(
        (async (): Promise<Delivery> => {
          const client = await clientFor(account).catch(() => undefined);
          if (!client) {
            logger.info({ account: account.id, notice: notice.kind }, 'not told: the app is not installed there');
            return { ok: false, error: 'the app is not installed in that workspace' };
          }
          return sendDm(client, logger, slackUserId, dmOf(account, notice));
        })(),
      );
    },
  };
}
