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

describe('Socket Mode', () => {
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
      env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '', INITIAL_ADMINS: 'UADMIN1' },
    });
  });
  afterAll(async () => {
    await running?.stop();
    for (const socket of sockets) socket.terminate();
    await new Promise((resolve) => wss?.close(resolve));
    await standIn?.stop();
    await db?.close();
  });

  it('connects with the app-level token and answers a slash command envelope', async () => {
    expect(running.config.slack.mode).toBe('socket');
    const open = standIn.callsTo('apps.connections.open')[0];
    expect(open?.authorization).toBe(`Bearer ${APP_TOKEN}`);
    const socket = await waitFor(() => sockets[0], 5_000, 'the WebSocket connection');
    socket.send(
      JSON.stringify({
        envelope_id: 'env-1',
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: {
          team_id: TEAM_ID,
          user_id: 'UADMIN1',
          command: '/chatbees-users',
          text: 'whoami',
          response_url: standIn.responseUrl(),
          trigger_id: 't.1',
          channel_id: 'C1',
          api_app_id: 'A0APP',
        },
      }),
    );
    const ack = await waitFor(() => received.find((m) => m.envelope_id === 'env-1'), 5_000, 'the ack envelope');
    expect(JSON.stringify(ack.payload)).toMatch(/You are an \*AccountAdmin\*/);
  });

  it('still serves the health route and registration pages over HTTP', async () => {
    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    const events = await fetch(`${running.url}/slack/events`, { method: 'POST', body: 'x' });
    expect(events.status).toBe(404);
  });
});
