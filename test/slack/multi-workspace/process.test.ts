// Multi-workspace mode as a real process, started the way `npm start` starts it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLIC_URL } from '../../support/bot.js';
import { type BotProcess, spawnBot } from '../../support/bot-process.js';
import { MULTI_ENV, STATE_SECRET, TOKEN_KEY, textOf, unescapeHtml } from '../../support/multi-workspace-bot.js';
import { SIGNING_SECRET } from '../../support/slack-requests.js';
import { CLIENT_SECRET, SlackStandIn, waitFor } from '../../support/slack-stand-in.js';

describe('multi-workspace mode as a process', () => {
  it('starts from the environment alone, with no bot token and no call to Slack, and serves installs', async () => {
    const standIn = await new SlackStandIn().start();
    const dir = mkdtempSync(path.join(tmpdir(), 'chatbees-users-multi-'));
    let bot: BotProcess | undefined;
    try {
      bot = await spawnBot(
        {
          ...MULTI_ENV,
          SLACK_SIGNING_SECRET: SIGNING_SECRET,
          SLACK_API_URL: standIn.apiUrl,
          PUBLIC_URL,
          REGISTRATION_LINK_SECRET: 'multi-workspace-process-link-secret-0123456789',
          PGLITE_DATA_DIR: path.join(dir, 'pglite'),
        },
        60_000,
      );
      const serving = JSON.parse(bot.output.find((l) => l.includes('chatbees-users is serving')) as string);
      expect(serving.workspaces).toBe(`every one that installs the app (${PUBLIC_URL}/slack/install)`);
      const page = await fetch(`${bot.url}/slack/install`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Add to Slack');
      expect(standIn.calls).toEqual([]);

      // A stop while Slack is slow to exchange an install's code waits for that install.
      const started = await fetch(`${bot.url}/slack/install`);
      const cookie = (started.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const href = /<a class="button" href="([^"]+)">/.exec(await started.text())?.[1] ?? '';
      standIn.addUser({ id: 'UPROC', team_id: 'T0PROC', name: 'proc-admin' });
      const redirect = new URL(standIn.install(unescapeHtml(href), { user: 'UPROC', team: 'T0PROC' }));
      standIn.fail('oauth.v2.access', { delayMs: 1_500 });
      const back = fetch(`${bot.url}${redirect.pathname}${redirect.search}`, { headers: { Cookie: cookie } });
      await waitFor(() => standIn.callsTo('oauth.v2.access')[0], 5_000, 'the code exchange');
      const [installed, exit] = await Promise.all([back, bot.stop('SIGTERM')]);
      expect(installed.status).toBe(200);
      expect(textOf(await installed.text())).toMatch(/You are its first AccountAdmin/);
      expect(exit).toEqual({ code: 0, signal: null });
      const text = bot.output.join('\n');
      for (const secret of [CLIENT_SECRET, STATE_SECRET, TOKEN_KEY]) expect(text).not.toContain(secret);
    } finally {
      await bot?.stop('SIGKILL');
      await standIn.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
