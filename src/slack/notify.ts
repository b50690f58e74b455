import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { KnownBlock } from '@slack/types';
import { WebClient } from '@slack/web-api';
import type { InFlight } from '../in-flight.js';
import type { Logger } from '../logger.js';
import type { Delivery, FileToTell, Notice, Notifier } from '../services/notifier.js';
import type { Account } from '../services/types.js';
import { bulkProgress } from './blocks/bulk.js';
import * as dm from './blocks/dm.js';
import type { Message } from './blocks/messages.js';
import { boltLogger } from './bolt-logger.js';

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
  message: { text: string; blocks?: KnownBlock[]; inviteId?: string },
): Promise<Delivery> {
  try {
    const opened = await client.conversations.open({ users: slackUserId });
    const channel = opened.channel?.id;
    if (!channel) return { ok: false, error: 'no DM channel' };
    return await postIn(client, channel, message);
  } catch (err) {
    const delivery = failed(err);
    if (!delivery.ok) logger.warn({ slackUserId, error: delivery.error }, 'direct message not delivered');
    return delivery;
  }
}

/** The event type of the metadata every invitation DM carries, to find it again (`findInvitation`). */
export const INVITATION_EVENT = 'chatbees_invitation';

/** A message in a conversation the bot is in; link previews off, as for DMs. Throws Slack's errors. */
async function postIn(
  client: WebClient,
  channel: string,
  message: { text: string; blocks?: KnownBlock[]; inviteId?: string },
): Promise<Delivery> {
  const posted = await client.chat.postMessage({
    channel,
    text: message.text,
    blocks: message.blocks,
    unfurl_links: false,
    unfurl_media: false,
    ...(message.inviteId
      ? { metadata: { event_type: INVITATION_EVENT, event_payload: { invite_id: message.inviteId } } }
      : {}),
  });
  return { ok: true, ...(posted.ts ? { at: { channel: posted.channel ?? channel, ts: posted.ts } } : {}) };
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
    case 'invitation_reminder':
      return dm.invitationReminder(account, notice.invite, notice.url);
    case 'access_request':
      return dm.accessRequest(account, notice.request);
    case 'bulk_progress':
      return bulkProgress(notice.progress);
    case 'requests_channel_set':
      return dm.requestsChannelSet(account, notice.by);
    case 'access_decided':
      return dm.accessDecided(account, notice.decision, notice.by, notice.reason);
    case 'access_expired':
      return dm.accessExpired(account);
    case 'access_request_expired':
      return dm.accessRequestDecided(notice.requester, 'expired');
    case 'access_request_decided':
      return dm.accessRequestDecided(notice.requester, notice.decision, notice.by, notice.reason);
    case 'asked_again':
      return dm.askedAgain(account, notice.invite);
    case 'invitation_ended':
      return dm.invitationEnded(account, notice.invite, notice.shows);
  }
}

const impatientTwins = new WeakMap<WebClient, WebClient>();

/**
 * The same workspace's client without the short waits on 429 (patient-fetch.ts) and without
 * retries, for callers that pace themselves by Slack's 429s and look in the DM before sending
 * again (a bulk invitation's DMs).
 */
function impatient(client: WebClient, logger: Logger): WebClient {
  let twin = impatientTwins.get(client);
  if (!twin) {
    twin = new WebClient(client.token, {
      slackApiUrl: client.slackApiUrl,
      logger: boltLogger(logger),
      timeout: 4_000,
      // No retry either: a post that timed out may have landed; the caller looks before sending again.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
    impatientTwins.set(client, twin);
  }
  return twin;
}

/** A CSV that could not be shared as a file, as a DM: its first lines, and why not all of it. */
function fileAsText(file: { title: string; comment: string; content: string }, error: string): Message {
  const lines = file.content
    .replace(/^\uFEFF/, '')
    .split('\r\n')
    .filter(Boolean);
  const shown: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (size + line.length > 2_500) break;
    shown.push(line);
    size += line.length + 1;
  }
  const more = lines.length - shown.length;
  const why =
    error === 'missing_scope'
      ? 'reinstall the app to allow it to send files (files:write) and get the whole list as a file'
      : `Slack did not take the file (${error})`;
  const text = `${file.comment}\n\`\`\`${shown.join('\n')}\`\`\`${more > 0 ? `\n…and ${more} more lines: ${why}.` : ''}`;
  return { text };
}

/** Long enough for a big export on a slow link; a stalled upload still ends. */
const UPLOAD_TIMEOUT_MS = 120_000;

/** The upload URL did not take the bytes. */
class UploadRefused extends Error {}

/**
 * Slack's upload (files.upload is retired): a URL for the bytes, their length given first; the
 * bytes, streamed from disk for a file (the SDK's filesUploadV2 reads a stream into memory
 * first); then the share into the channel with its comment.
 */
async function uploadFile(client: WebClient, channel: string, file: FileToTell): Promise<void> {
  const bytes = 'content' in file ? Buffer.from(file.content, 'utf8') : undefined;
  const length = bytes ? bytes.length : (file as { file: { bytes: number } }).file.bytes;
  const target = await client.files.getUploadURLExternal({ filename: file.filename, length });
  if (!target.upload_url || !target.file_id) throw new UploadRefused('no upload URL');
  const body = bytes ?? Readable.toWeb(createReadStream((file as { file: { path: string } }).file.path));
  const posted = await fetch(target.upload_url, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
    body: body as unknown as RequestInit['body'],
    // A stream as the body: Node's fetch sends it as it is read.
    duplex: 'half',
    signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
  } as RequestInit);
  await posted.arrayBuffer();
  if (!posted.ok) throw new UploadRefused(`upload answered HTTP ${posted.status}`);
  await client.files.completeUploadExternal({
    files: [{ id: target.file_id, title: file.title }],
    channel_id: channel,
    initial_comment: file.comment,
  });
}

/** A notice as its DM, an invitation marked with its id. */
function withMarker(account: Account, notice: Notice): Message & { inviteId?: string } {
  const message = dmOf(account, notice);
  return notice.kind === 'invitation' ? { ...message, inviteId: notice.invite.id } : message;
}

/** A failed Slack call as a Delivery, with Slack's Retry-After when it is rate-limiting. */
function failed(err: unknown): Delivery {
  const { retryAfter, code, statusCode } = err as { code?: string; retryAfter?: number; statusCode?: number };
  // No answer, or a server error: the message may have been posted all the same.
  const uncertain =
    code === 'slack_webapi_request_error' || (code === 'slack_webapi_http_error' && (statusCode ?? 500) >= 500);
  return {
    ok: false,
    error: slackError(err),
    ...(typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : {}),
    ...(uncertain ? { uncertain: true as const } : {}),
  };
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
  /** `work` with the account's client, tracked; a Delivery saying why not when it has none. */
  const withClient = (account: Account, notice: Notice, work: (client: WebClient) => Promise<Delivery>) =>
    inFlight.track(
      (async (): Promise<Delivery> => {
        const client = await clientFor(account).catch(() => undefined);
        if (!client) {
          logger.info({ account: account.id, notice: notice.kind }, 'not told: the app is not installed there');
          return { ok: false, error: 'the app is not installed in that workspace' };
        }
        return work(client);
      })(),
    );
  return {
    tell(account, slackUserId, notice) {
      return withClient(account, notice, (client) => sendDm(client, logger, slackUserId, withMarker(account, notice)));
    },
    tellOneOfMany(account, slackUserId, notice) {
      return withClient(account, notice, async (client) => {
        try {
          // A user id as the channel: Slack posts to the app's DM with them, no conversations.open.
          // Every 429 comes straight back: the caller's pacer learns Slack's limit from them.
          return await postIn(impatient(client, logger), slackUserId, withMarker(account, notice));
        } catch (err) {
          const delivery = failed(err);
          if (!delivery.ok && delivery.retryAfterSeconds === undefined)
            logger.warn(
              { slackUserId, error: delivery.error, uncertain: delivery.uncertain },
              'direct message not delivered',
            );
          return delivery;
        }
      });
    },
    tellFile(account, slackUserId, file, options = {}) {
      return withClient(account, { kind: 'welcome' }, async (client) => {
        try {
          const opened = await client.conversations.open({ users: slackUserId });
          const channel = opened.channel?.id;
          if (!channel) return { ok: false, error: 'no DM channel' };
          await uploadFile(client, channel, file);
          return { ok: true };
        } catch (err) {
          const delivery = err instanceof UploadRefused ? ({ ok: false, error: err.message } as const) : failed(err);
          if (!delivery.ok) logger.warn({ slackUserId, error: delivery.error }, 'file not shared');
          // No file (an installation without files:write, say): its first lines as a DM instead.
          if (options.fallback === false || !('content' in file)) return delivery;
          return sendDm(client, logger, slackUserId, fileAsText(file, delivery.ok ? '' : delivery.error));
        }
      });
    },
    async findInvitation(account, slackUserId, inviteId, since) {
      const client = await clientFor(account).catch(() => undefined);
      if (!client) return 'unknown';
      try {
        const opened = await client.conversations.open({ users: slackUserId });
        const channel = opened.channel?.id;
        if (!channel) return 'unknown';
        let cursor: string | undefined;
        do {
          const page = await client.conversations.history({
            channel,
            oldest: String(since.getTime() / 1000),
            include_all_metadata: true,
            limit: 200,
            ...(cursor ? { cursor } : {}),
          });
          const found = (page.messages ?? []).some(
            (m) =>
              m.metadata?.event_type === INVITATION_EVENT &&
              (m.metadata.event_payload as { invite_id?: string } | undefined)?.invite_id === inviteId,
          );
          if (found) return 'found';
          cursor = page.response_metadata?.next_cursor || undefined;
        } while (cursor);
        return 'absent';
      } catch (err) {
        logger.warn({ slackUserId, error: slackError(err) }, 'could not look for an invitation in a DM');
        return 'unknown';
      }
    },
    post(account, channel, notice) {
      return withClient(account, notice, async (client) => {
        try {
          return await postIn(client, channel, dmOf(account, notice));
        } catch (err) {
          const delivery = failed(err);
          if (!delivery.ok) logger.warn({ channel, error: delivery.error, notice: notice.kind }, 'message not posted');
          return delivery;
        }
      });
    },
    update(account, at, notice) {
      return withClient(account, notice, async (client) => {
        try {
          await client.chat.update({ channel: at.channel, ts: at.ts, ...dmOf(account, notice) });
          return { ok: true, at };
        } catch (err) {
          const delivery = failed(err);
          if (!delivery.ok) logger.warn({ error: delivery.error, notice: notice.kind }, 'message not updated');
          return delivery;
        }
      });
    },
  };
}
