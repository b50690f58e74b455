// `/chatbees-users …` end to end: the commands that read (help, whoami, list, audit).
import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { commandBot } from '../../support/command-bot.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';

/** The text of a block's text object (a section's, a header's), if it has one. */
const textOf = (block: KnownBlock) => ('text' in block && typeof block.text === 'object' ? block.text.text : undefined);
/** The texts of a context block's elements, joined. */
const elementsTextOf = (block: KnownBlock) =>
  block.type === 'context' ? block.elements.map((e) => ('text' in e ? e.text : undefined)).join(' ') : undefined;

describe.each(backends)('/chatbees-users on $name', (backend) => {
  const { t, person, member, run } = commandBot(backend);

  describe('help and whoami', () => {
    it('gives admins the full list and others a short one', async () => {
      const admin = await run('UADMIN1', 'help');
      expect(admin.ackText).toMatch(/invite @person/);
      expect(admin.ackText).toMatch(/role @person AccountAdmin\|AccountUser/);
      expect(admin.ack.json?.response_type).toBe('ephemeral');
      const user = await run(await member(), 'help');
      expect(user.ackText).toMatch(/You are an AccountUser \(read-only\)/);
      expect(user.ackText).not.toMatch(/invite @person/);
      const stranger = await run(person(), 'help');
      expect(stranger.ackText).toMatch(/not registered in this ChatBees account: ask an AccountAdmin for an invite/);
    });

    it('tells each person their role, and a non-member whom to ask', async () => {
      expect((await run('UADMIN1', 'whoami')).ackText).toMatch(/You are an \*AccountAdmin\* of \*Acme Bees\*/);
      expect((await run(await member(), 'whoami')).ackText).toMatch(/You are an \*AccountUser\*.*read-only/);
      const stranger = await run(person(), 'whoami');
      expect(stranger.ackText).toMatch(/not registered in \*Acme Bees\*/);
      expect(stranger.ackText).toMatch(/Ask an AccountAdmin \(<@UADMIN1>\) for an invite/);
    });

    it('shows an AccountUser their role instead of the console, and never opens it for them', async () => {
      const opened = t.standIn.callsTo('views.open').length;
      const user = await run(await member(), '');
      expect(user.ackText).toMatch(/AccountUser/);
      const stranger = await run(person(), '');
      expect(stranger.ackText).toMatch(/not registered/);
      expect(t.standIn.callsTo('views.open').length).toBe(opened);
    });

    it('answers an unknown subcommand with short help', async () => {
      const answer = await run('UADMIN1', 'frobnicate');
      expect(answer.ackText).toMatch(/I don't know "frobnicate"\. Try: invite, invites/);
    });
  });

  describe('list', () => {
    it('lists members with mention, role and registration date, paged, with the total', async () => {
      const first = await run('UADMIN1', 'list');
      const total = Number(/— (\d+) in all/.exec(first.ackText)?.[1]);
      const rows = await t.db
        .knex('members')
        .where({ account_id: t.running.account.id, status: 'active' })
        .count({ n: '*' })
        .first();
      expect(total).toBe(Number(rows?.n));
      const blocks = first.ack.json?.blocks as KnownBlock[];
      const lines = blocks.map((b) => textOf(b) ?? '').join('\n');
      expect(lines).toMatch(/<@UADMIN1> · \*AccountAdmin\* · registered <!date\^\d+\^\{date_short\}\|\d{4}-\d\d-\d\d/);
    });

    it('pages through 60 members in stable order without repeating anyone', async () => {
      await insertMembers(
        t.db.knex,
        t.running.account,
        Array.from({ length: 60 }, (_, i) => ({
          slackUserId: `ULIST${String(i).padStart(4, '0')}`,
          displayName: `zz list ${String(i).padStart(2, '0')}`,
        })),
      );
      const seen: string[] = [];
      const first = await run('UADMIN1', 'list');
      const pages = Number(/page 1 of (\d+)/.exec(first.ackText)?.[1]);
      expect(pages).toBeGreaterThanOrEqual(3);
      for (let page = 1; page <= pages; page++) {
        const answer = await run('UADMIN1', `list page ${page}`);
        expect(answer.ackText).toContain(`page ${page} of ${pages}`);
        const blocks = (answer.ack.json?.blocks ?? []) as KnownBlock[];
        const text = blocks.map((b) => textOf(b) ?? elementsTextOf(b) ?? '').join('\n');
        seen.push(...[...text.matchAll(/<@(U[A-Z0-9]+)>/g)].map((m) => m[1] as string));
        if (page < pages) expect(text).toContain(`list page ${page + 1}`);
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => id.startsWith('ULIST'))).toEqual(
        Array.from({ length: 60 }, (_, i) => `ULIST${String(i).padStart(4, '0')}`),
      );
    });
  });

  describe('audit', () => {
    it('shows the latest N changes: who, what, whom, when', async () => {
      const p = await member();
      await (await run('UADMIN1', `role <@${p}> admin`)).followUp();
      await (await run('UADMIN1', `remove <@${p}>`)).followUp();
      const answer = await run('UADMIN1', 'audit 2');
      const lines = answer.ackText.split('\n').slice(1);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^<!date\\^\\d+\\^[^>]+> — <@UADMIN1> removed <@${p}>$`));
      expect(lines[1]).toMatch(new RegExp(`<@UADMIN1> changed <@${p}>'s role AccountUser → AccountAdmin$`));
    });
  });
});
