// With SLACK_APP_TOKEN set the bot uses Socket Mode: it opens a WebSocket from
// apps.connections.open (on SLACK_API_URL) and answers envelopes over it. The web routes
// stay on PORT.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { type RunningBot, startTestBot } from '../support/bot.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import { SlackStandIn, TEAM_ID, waitFor } from '../support/slack-stand-in.js';

const APP_TOKEN = 'xapp-1-A0APP-1234-socketmodetoken';

describe.each([
  { name: 'with PUBLIC_URL', publicUrl: 'https://bees.example.test' as string | undefined },
  { name: 'without PUBLIC_URL', publicUrl: undefined },
])('Socket Mode $name', ({ publicUrl }) => {
  let db: TestDatabase;
  let standIn: SlackStandIn;
  let wss: WebSocketServer;
  let running: RunningBot;
  const sockets: WebSocket[] = [];
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    db = await openPgliteTestDatabase();
    standIn = await new SlackStandIn().start();
    standIn.addUser({ id: 'UADMIN1' });
    standIn.addUser({ id: 'UBOB' });
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (socket) => {
      sockets.push(socket);
      socket.on('message', (data) => received.push(JSON.parse(String(data))));
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0APP' } }));
    });
    const wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`;
    standIn.on('apps.connections.open', () => ({ url: wsUrl }));
    running = await startTestBot({
      db,
      standIn,
      env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '', INITIAL_ADMINS: 'UADMIN1', PUBLIC_URL: publicUrl },
    });
  });
  afterAll(async () => {
    await running?.stop();
    for (const socket of sockets) socket.terminate();
    await new Promise((resolve) => wss?.close(resolve));
    await standIn?.stop();
    await db?.close();
  });

  let envelopes = 0;
  /** Sends `/chatbees-users <text>` over the socket; resolves with the ack envelope. */
  async function command(text: string) {
    const socket = await waitFor(() => sockets[0], 5_000, 'the WebSocket connection');
    const id = `env-${++envelopes}`;
    socket.send(
      JSON.stringify({
        envelope_id: id,
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: {
          team_id: TEAM_ID,
          user_id: 'UADMIN1',
          command: '/chatbees-users',
          text,
          response_url: standIn.responseUrl(),
          trigger_id: `t.${envelopes}`,
          channel_id: 'C1',
          api_app_id: 'A0APP',
        },
      }),
    );
    return waitFor(() => received.find((m) => m.envelope_id === id), 5_000, 'the ack envelope');
  }

  it('connects with the app-level token and answers a slash command envelope', async () => {
    expect(running.config.slack.mode).toBe('socket');
    const open = standIn.callsTo('apps.connections.open')[0];
    expect(open?.authorization).toBe(`Bearer ${APP_TOKEN}`);
    const ack = await command('whoami');
    expect(JSON.stringify(ack.payload)).toMatch(/You are an \*AccountAdmin\*/);
  });

  it('invites with the Accept button, and the link only when there are pages', async () => {
    await command('invite <@UBOB>');
    const dm = await waitFor(() => standIn.dmsTo('UBOB')[0], 5_000, 'the invitation');
    const blocks = JSON.stringify(dm.params.blocks);
    expect(blocks).toContain('invitation_accept');
    expect(blocks.includes('/register/')).toBe(publicUrl !== undefined);
    expect(String(dm.params.text).includes('registration link')).toBe(publicUrl !== undefined);
  });

  it('still serves the health route over HTTP, and no Slack endpoint', async () => {
    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    const events = await fetch(`${running.url}/slack/events`, { method: 'POST', body: 'x' });
    expect(events.status).toBe(404);
  });

  it('makes no link for anyone without pages (or without Sign in with Slack), and still answers on PORT', async () => {
    const ack = await command('invite link');
    expect(JSON.stringify(ack.payload)).toMatch(publicUrl ? /need Sign in with Slack/ : /set PUBLIC_URL/);
    expect(await db.knex('invites').whereNull('for_slack_user_id')).toEqual([]);
    expect((await fetch(`${running.url}/register/anything`)).status).toBe(404);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  });
});
