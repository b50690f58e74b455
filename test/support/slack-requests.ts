// What Slack sends: signed slash commands, block_actions and view_submission payloads.
import { createHmac, randomBytes } from 'node:crypto';
import { TEAM_ID } from './slack-stand-in.js';

export const SIGNING_SECRET = 'test-signing-secret-8f2a1c9d4e';

export function sign(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'X-Slack-Request-Timestamp': String(timestamp), 'X-Slack-Signature': signature };
}

export interface SlackResponse {
  status: number;
  text: string;
  json: Record<string, unknown> | undefined;
}

export function triggerId(): string {
  return `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`;
}

/** Sends Slack-signed requests to the bot under test. */
export class SlackDriver {
  constructor(
    private readonly baseUrl: string,
    private readonly responseUrl: () => string,
    private readonly secret = SIGNING_SECRET,
  ) {}

  async post(
    body: string,
    extraHeaders: Record<string, string> = {},
    options: { timestamp?: number; secret?: string; json?: boolean } = {},
  ): Promise<SlackResponse> {
    const res = await fetch(`${this.baseUrl}/slack/events`, {
      method: 'POST',
      headers: {
        'Content-Type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
        ...sign(options.secret ?? this.secret, body, options.timestamp),
        ...extraHeaders,
      },
      body,
    });
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  }

  commandBody(user: string, text: string, overrides: Record<string, string> = {}): URLSearchParams {
    return new URLSearchParams({
      token: 'deprecated-verification-token',
      team_id: TEAM_ID,
      team_domain: 'acme',
      channel_id: 'C0GENERAL',
      channel_name: 'general',
      user_id: user,
      user_name: user.toLowerCase(),
      command: '/chatbees-users',
      text,
      api_app_id: 'A0APP',
      is_enterprise_install: 'false',
      response_url: this.responseUrl(),
      trigger_id: triggerId(),
      ...overrides,
    });
  }

  /** `/chatbees-users <text>` as `user`. */
  command(user: string, text: string, overrides: Record<string, string> = {}, headers: Record<string, string> = {}) {
    return this.post(this.commandBody(user, text, overrides).toString(), headers);
  }

  /** An Events API delivery (JSON), as Slack sends it. */
  event(event: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
    const body = {
      token: 'deprecated-verification-token',
      team_id: TEAM_ID,
      api_app_id: 'A0APP',
      type: 'event_callback',
      event_id: `Ev${triggerId().replace(/\D/g, '').slice(0, 10)}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: TEAM_ID, user_id: 'UBOT', is_bot: true }],
      event,
      ...overrides,
    };
    return this.post(JSON.stringify(body), {}, { json: true });
  }

  interaction(payload: Record<string, unknown>, headers: Record<string, string> = {}) {
    return this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), headers);
  }

  /** A button press in a view (the console) or a message. */
  blockAction(
    user: string,
    action: { action_id: string; value?: string; block_id?: string },
    container: {
      view?: {
        id: string;
        type?: string;
        hash?: string;
        private_metadata?: string;
        callback_id?: string;
        root_view_id?: string;
      };
    } = {},
    overrides: Record<string, unknown> = {},
  ) {
    const inView = container.view !== undefined;
    return this.interaction({
      type: 'block_actions',
      user: { id: user, team_id: TEAM_ID, username: user.toLowerCase() },
      api_app_id: 'A0APP',
      team: { id: TEAM_ID, domain: 'acme' },
      trigger_id: triggerId(),
      container: inView ? { type: 'view', view_id: container.view?.id } : { type: 'message', channel_id: 'D0BOT' },
      ...(inView
        ? {
            view: {
              type: 'modal',
              hash: 'h1',
              private_metadata: '',
              callback_id: 'admin_console',
              state: { values: {} },
              ...container.view,
            },
          }
        : { response_url: this.responseUrl(), channel: { id: 'D0BOT' } }),
      actions: [{ type: 'button', block_id: action.block_id ?? 'b', action_ts: '1', ...action }],
      ...overrides,
    });
  }

  viewSubmission(
    user: string,
    view: {
      id: string;
      callback_id: string;
      values: Record<string, Record<string, unknown>>;
      root_view_id?: string;
      hash?: string;
      private_metadata?: string;
    },
    overrides: Record<string, unknown> = {},
  ) {
    return this.interaction({
      type: 'view_submission',
      user: { id: user, team_id: TEAM_ID, username: user.toLowerCase() },
      api_app_id: 'A0APP',
      team: { id: TEAM_ID, domain: 'acme' },
      trigger_id: triggerId(),
      view: {
        id: view.id,
        type: 'modal',
        callback_id: view.callback_id,
        hash: view.hash ?? 'h2',
        private_metadata: view.private_metadata ?? '',
        root_view_id: view.root_view_id ?? view.id,
        state: { values: view.values },
      },
      ...overrides,
    });
  }
}
