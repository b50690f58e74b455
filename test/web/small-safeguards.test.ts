// Small safeguards: Strict-Transport-Security in production on https; INITIAL_ADMINS never
// promoted unchecked when Slack cannot be asked (tried again at the next start); an "Open
// ChatBees" button after joining when APP_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot } from '../support/bot.js';
import { openPgliteTestDatabase, type TestDatabase } from '../support/databases.js';
import { LINK_SECRET } from '../support/fixtures.js';
import { PageSession } from '../support/page-session.js';
import { linkButtonUrl, SlackStandIn, waitFor } from '../support/slack-stand-in.js';

describe('small safeguards', () => {
  let db: TestDatabase;
  let standIn: SlackStandIn;

  beforeAll(async () => {
    db = await openPgliteTestDatabase();
    standIn = await new SlackStandIn().start();
    for (const id of ['UADMIN1', 'UBOB']) standIn.addUser({ id });
  });
  afterAll(async () => {
    await standIn?.stop();
    await db?.close();
  });

  const admins = async () =>
    (await db.knex('members').where({ role: 'AccountAdmin', status: 'active' })).map((m) => m.slack_user_id);

  it('does not make INITIAL_ADMINS admins unchecked: Slack not answering about one, the list waits for the next start', async () => {
    // Slack answers about UBOB, not about UADMIN1.
    standIn.on('users.info', (p) =>
      p.user === 'UADMIN1' ? { ok: false, error: 'internal_error' } : { user: standIn.users.get(String(p.user)) },
    );
    const first = await startTestBot({ db, standIn, env: { INITIAL_ADMINS: 'UADMIN1,UBOB' } });
    try {
      expect(await admins()).toEqual([]);
      expect(first.logs.join('\n')).toContain('INITIAL_ADMINS not applied: tried again, whole, at the next start');
    } finally {
      await first.stop();
    }
    standIn.on('users.info', (p) => {
      const user = standIn.users.get(String(p.user));
      return user ? { user } : { ok: false, error: 'user_not_found' };
    });
    const second = await startTestBot({ db, standIn, env: { INITIAL_ADMINS: 'UADMIN1,UBOB' } });
    try {
      expect((await admins()).sort()).toEqual(['UADMIN1', 'UBOB']);
    } finally {
      await second.stop();
    }
    await db.knex('members').where({ slack_user_id: 'UBOB' }).update({ role: 'AccountUser' });
  });

  it('sends Strict-Transport-Security in production on https, and not otherwise', async () => {
    const production = await startTestBot({
      db,
      standIn,
      env: { NODE_ENV: 'production', REGISTRATION_LINK_SECRET: LINK_SECRET },
    });
    const development = await startTestBot({ db, standIn });
    try {
      for (const path of ['/register/not-a-link', '/healthz']) {
        const res = await fetch(`${production.url}${path}`);
        expect(res.headers.get('strict-transport-security'), path).toBe('max-age=31536000');
        expect((await fetch(`${development.url}${path}`)).headers.get('strict-transport-security')).toBeNull();
      }
    } finally {
      await production.stop();
      await development.stop();
    }
  });

  it('offers "Open ChatBees" after joining when APP_URL is set, and not otherwise', async () => {
    for (const appUrl of ['https://app.chatbees.example/sign-in', undefined]) {
      const running = await startTestBot({
        db,
        standIn,
        env: { INITIAL_ADMINS: 'UADMIN1', ...(appUrl ? { APP_URL: appUrl } : {}) },
      });
      try {
        await db.knex('members').where({ slack_user_id: 'UBOB' }).del();
        const before = standIn.dmsTo('UBOB').length;
        await running.slack.command('UADMIN1', 'invite <@UBOB>');
        const dm = await waitFor(() => standIn.dmsTo('UBOB')[before], 5_000, 'the invitation');
        const url = linkButtonUrl(dm);
        const path = new URL(url).pathname;
        const session = new PageSession(running.url);
        const joined = await session.submit(path, (await session.go(path)).html);
        expect(joined.status).toBe(200);
        expect(joined.html).toContain('You are in');
        if (appUrl) expect(joined.html).toContain(`<a class="button" href="${appUrl}">Open ChatBees</a>`);
        else {
          expect(joined.html).not.toContain('Open ChatBees');
          expect(joined.html).toContain('You can close this page.');
        }
      } finally {
        await running.stop();
      }
    }
  });
});
