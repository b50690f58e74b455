// `/chatbees-users list admins|users|<text>` and `find <text>` end to end: the real bot over
// Slack-signed HTTP, its database on each backend. Nothing is reset between tests: each test
// seeds people whose names only its own searches find.
import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../../src/services/types.js';
import { commandBot } from '../../support/command-bot.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';
import { waitFor } from '../../support/slack-stand-in.js';
import { recordStatements } from '../../support/statements.js';

type Ack = Awaited<ReturnType<ReturnType<typeof commandBot>['run']>>;

/** Every text of an answer: its `text`, its sections' and its context elements'. */
function answerText(answer: Ack): string {
  const blocks = (answer.ack.json?.blocks ?? []) as KnownBlock[];
  const parts = [answer.ackText];
  for (const block of blocks) {
    if ('text' in block && block.text && typeof block.text === 'object') parts.push(block.text.text);
    if (block.type === 'context') for (const e of block.elements) if ('text' in e) parts.push(String(e.text));
  }
  return parts.join('\n');
}

/** The people an answer lists, in its order (each member line starts with their mention). */
function listed(answer: Ack): string[] {
  const blocks = (answer.ack.json?.blocks ?? []) as KnownBlock[];
  const lines = blocks
    .slice(1)
    .flatMap((b) => (b.type === 'section' && b.text ? b.text.text.split('\n') : []))
    .filter(Boolean);
  return lines.map((line) => /^<@([UW][A-Z0-9]+)>/.exec(line)?.[1] ?? `?${line}`);
}

/** The "Next:" hint of an answer, if any. */
function nextHint(answer: Ack): string | undefined {
  const blocks = (answer.ack.json?.blocks ?? []) as KnownBlock[];
  const context = blocks.find((b) => b.type === 'context');
  const text = context?.type === 'context' ? context.elements.map((e) => ('text' in e ? e.text : '')).join(' ') : '';
  return /Next: `\/chatbees-users ([^`]+)`/.exec(text)?.[1];
}

/** "N in all" in an answer's title. */
const totalOf = (answer: Ack) => Number(/— ([\d,]+) in all/.exec(answer.ackText)?.[1]?.replace(/,/g, '') ?? Number.NaN);

describe.each(backends)('/chatbees-users search on $name', (backend) => {
  const { t, member, person, run, auditRows } = commandBot(backend);

  interface Seeded {
    id: string;
    name?: string;
    email?: string;
    role?: Role;
    removed?: boolean;
  }
  /** People straight into the account, with their emails and removals. */
  async function seed(people: Seeded[]): Promise<void> {
    await insertMembers(
      t.db.knex,
      t.running.account,
      people.map((p) => ({ slackUserId: p.id, role: p.role, displayName: p.name })),
    );
    for (const p of people) {
      const row = t.db.knex('members').where({ account_id: t.running.account.id, slack_user_id: p.id });
      if (p.email) await row.clone().update({ email: p.email });
      if (p.removed) await row.clone().update({ status: 'removed', removed_at: new Date(), removed_by: 'UADMIN1' });
    }
  }
  const activeIds = async (where: Record<string, unknown> = {}) =>
    (
      await t.db
        .knex('members')
        .where({ account_id: t.running.account.id, status: 'active', ...where })
        .orderBy([
          { column: 'sort_name', order: 'asc' },
          { column: 'slack_user_id', order: 'asc' },
        ])
        .select('slack_user_id')
    ).map((r) => r.slack_user_id as string);

  it('list admins and list users show that role only, with its total', async () => {
    await seed([
      { id: 'UROLEA1', name: 'Role Keeper One', role: 'AccountAdmin' },
      { id: 'UROLEA2', name: 'Role Keeper Two', role: 'AccountAdmin' },
      { id: 'UROLEA3', name: 'Role Keeper Gone', role: 'AccountAdmin', removed: true },
      { id: 'UROLEU1', name: 'Role Plain One' },
      { id: 'UROLEU2', name: 'Role Plain Gone', removed: true },
    ]);
    const admins = await activeIds({ role: 'AccountAdmin' });
    const users = await activeIds({ role: 'AccountUser' });
    expect(admins).toContain('UROLEA2');
    expect(admins).not.toContain('UROLEA3');

    for (const words of ['admins', 'admin', 'ADMINS']) {
      const answer = await run('UADMIN1', `list ${words}`);
      expect(answer.ack.json?.response_type, words).toBe('ephemeral');
      expect(answer.ackText, words).toContain('AccountAdmins — ');
      expect(totalOf(answer), words).toBe(admins.length);
      expect(listed(answer), words).toEqual(admins.slice(0, 25));
    }

    for (const words of ['users', 'user']) {
      const answer = await run('UADMIN1', `list ${words}`);
      expect(answer.ackText, words).toContain('AccountUsers — ');
      expect(totalOf(answer), words).toBe(users.length);
      expect(listed(answer), words).toEqual(users.slice(0, 25));
      expect(listed(answer)).not.toContain('UROLEA1');
      expect(listed(answer)).not.toContain('UROLEU2');
    }
  });

  it('list users pages through that role only, and its Next hint names the role', async () => {
    await seed(
      Array.from({ length: 30 }, (_, i) => ({ id: `UROLEP${String(i).padStart(2, '0')}`, name: `Role Pager ${i}` })),
    );
    const users = await activeIds({ role: 'AccountUser' });
    const pages = Math.ceil(users.length / 25);
    expect(pages).toBeGreaterThanOrEqual(2);
    const seen: string[] = [];
    for (let page = 1; page <= pages; page++) {
      const answer = await run('UADMIN1', `list users page ${page}`);
      expect(answer.ackText).toContain(`page ${page} of ${pages}`);
      expect(nextHint(answer)).toBe(page < pages ? `list users page ${page + 1}` : undefined);
      seen.push(...listed(answer));
    }
    expect(seen).toEqual(users);
  });

  it('list <text> finds names and emails containing it in any case, showing their emails', async () => {
    await seed([
      { id: 'UANA01', name: 'Quentin Blake', email: 'ANA@x.test' },
      { id: 'UANA02', name: 'Banana' },
      { id: 'UANA03', name: 'DANA Scully', email: 'scully@fbi.test' },
      { id: 'UANA04', name: 'Anna Lee', email: 'anna.lee@y.test' },
      { id: 'UANA05', name: 'Nathan', email: 'nathan@a-n-a.test' },
      { id: 'UANA06', name: 'Removed Ana', email: 'gone@x.test', removed: true },
    ]);
    for (const text of ['list ana', 'list ANA', 'find Ana', 'search aNa']) {
      const answer = await run('UADMIN1', text);
      expect(answer.ack.json?.response_type, text).toBe('ephemeral');
      // In name order: banana, dana scully, quentin blake.
      expect(listed(answer), text).toEqual(['UANA02', 'UANA03', 'UANA01']);
      expect(totalOf(answer), text).toBe(3);
      expect(answer.ackText, text).toMatch(/whose name or email contains “(ana|ANA|Ana|aNa)”/);
      const all = answerText(answer);
      expect(all, text).toMatch(/<@UANA01> · \*AccountUser\* · registered [^\n]* · ANA@x\.test/);
      expect(all, text).toMatch(/<@UANA03> [^\n]* · scully@fbi\.test/);
      expect(all, text).not.toContain('anna.lee@y.test');
      expect(nextHint(answer), text).toBeUndefined();
    }
  });

  it('%, _ and \\ in a search are the characters themselves, not wildcards', async () => {
    await seed([
      { id: 'UPCT01', name: 'Discount 50% Club' },
      { id: 'UPCT02', name: 'Discount 500 Club' },
      { id: 'UPCT03', name: 'Pct 50 Cents' },
      { id: 'UPCT04', name: 'Pct crew x', email: 'a_b@pct.test' },
      { id: 'UPCT05', name: 'Pct crew y', email: 'axb@pct.test' },
      { id: 'UPCT06', name: 'Pct c\\d crew' },
      { id: 'UPCT07', name: 'Pct cd crew' },
    ]);
    const fifty = await run('UADMIN1', 'list 50%');
    expect(listed(fifty)).toEqual(['UPCT01']);
    expect(totalOf(fifty)).toBe(1);
    const underscore = await run('UADMIN1', 'find a_b@');
    expect(listed(underscore)).toEqual(['UPCT04']);
    const backslash = await run('UADMIN1', 'find c\\d');
    expect(listed(backslash)).toEqual(['UPCT06']);
    // A lone % finds only a name with a % in it.
    const percent = await run('UADMIN1', 'find %');
    expect(listed(percent)).toEqual(['UPCT01']);
  });

  it('find admins looks for the name, while list admins lists the role', async () => {
    await seed([
      { id: 'UFADM1', name: 'Admins Team' },
      { id: 'UFADM2', name: 'Head of Admin', role: 'AccountAdmin' },
    ]);
    const found = await run('UADMIN1', 'find admins');
    expect(listed(found)).toEqual(['UFADM1']);
    expect(found.ackText).toContain('whose name or email contains “admins”');

    // Several words are one text: "admins team" is no role.
    const phrase = await run('UADMIN1', 'list Admins Team');
    expect(listed(phrase)).toEqual(['UFADM1']);

    const role = await run('UADMIN1', 'list admins');
    expect(role.ackText).toContain('AccountAdmins — ');
    expect(listed(role)).toContain('UFADM2');
    expect(listed(role)).toContain('UADMIN1');
    expect(listed(role)).not.toContain('UFADM1');
  });

  it('finds names beyond ASCII in any case', async () => {
    await seed([
      { id: 'UNAS01', name: 'Zoë Ñúñez' },
      { id: 'UNAS02', name: '李小龍' },
      { id: 'UNAS03', name: 'Nunez Plain' },
    ]);
    expect(listed(await run('UADMIN1', 'list ÑÚÑEZ'))).toEqual(['UNAS01']);
    expect(listed(await run('UADMIN1', 'find zoË'))).toEqual(['UNAS01']);
    expect(listed(await run('UADMIN1', 'find 小龍'))).toEqual(['UNAS02']);
  });

  it('find searches for a name with the word "page" in it', async () => {
    await seed([
      { id: 'UPAGE1', name: 'Larry Page' },
      { id: 'UPAGE2', name: 'Page Turner' },
    ]);
    // Only a trailing "page N" is a page; the rest is the text looked for.
    expect(listed(await run('UADMIN1', 'find larry page 1'))).toEqual(['UPAGE1']);
    expect(listed(await run('UADMIN1', 'find Larry Page'))).toEqual(['UPAGE1']);
    expect(listed(await run('UADMIN1', 'find page turner'))).toEqual(['UPAGE2']);
  });

  it('list 3 is still page 3 of everyone', async () => {
    await seed(
      Array.from({ length: 60 }, (_, i) => ({ id: `UPG3${String(i).padStart(3, '0')}`, name: `Page Three ${i}` })),
    );
    const everyone = await activeIds();
    const answer = await run('UADMIN1', 'list 3');
    expect(answer.ackText).not.toContain('contains');
    expect(answer.ackText).toContain(`${everyone.length} in all · page 3 of ${Math.ceil(everyone.length / 25)}`);
    expect(listed(answer)).toEqual(everyone.slice(50, 75));
  });

  it('pages through a search; each Next hint names the same search', async () => {
    const people = Array.from({ length: 57 }, (_, i) => ({
      id: `USRCH${String(i).padStart(3, '0')}`,
      name: `Pagedsearch ${String(i).padStart(2, '0')}`,
    }));
    // Others around them that the search must not pick up.
    await seed([...people, { id: 'USRCHX1', name: 'Paged Search Not' }, { id: 'USRCHX2', name: 'pagedsearc' }]);
    const expected = people.map((p) => p.id);
    for (const command of ['find', 'list']) {
      const seen: string[] = [];
      for (let page = 1; page <= 3; page++) {
        const answer = await run(
          'UADMIN1',
          page === 1 ? `${command} pagedsearch` : `${command} pagedsearch page ${page}`,
        );
        expect(totalOf(answer)).toBe(57);
        expect(answer.ackText).toContain(`page ${page} of 3`);
        expect(nextHint(answer)).toBe(page < 3 ? `${command} pagedsearch page ${page + 1}` : undefined);
        seen.push(...listed(answer));
      }
      expect(seen).toEqual(expected);
    }
    // Past the end: the last page.
    const past = await run('UADMIN1', 'find pagedsearch page 9');
    expect(past.ackText).toContain('page 3 of 3');
    expect(listed(past)).toEqual(expected.slice(50));
  });

  it('counts a search up to 200, and says "more than 200" past it', async () => {
    await seed(
      Array.from({ length: 200 }, (_, i) => ({ id: `UCAP${String(i).padStart(4, '0')}`, name: `Capmatch ${i}` })),
    );
    const exactly = await run('UADMIN1', 'find capmatch');
    expect(exactly.ackText).toContain('— 200 in all · page 1 of 8');
    expect(exactly.ackText).not.toContain('more than');

    await seed([{ id: 'UCAP9999', name: 'Capmatch last' }]);
    const over = await run('UADMIN1', 'find capmatch');
    expect(over.ackText).toContain('more than 200 (the first 200 are shown: narrow the search)');
    expect(over.ackText).toContain('page 1 of 8');
    expect(listed(over)).toHaveLength(25);
    expect(nextHint(over)).toBe('find capmatch page 2');
    // The last page shown is the 8th, and it has no Next.
    const last = await run('UADMIN1', 'list capmatch page 9');
    expect(last.ackText).toContain('page 8 of 8');
    expect(listed(last)).toHaveLength(25);
    expect(nextHint(last)).toBeUndefined();
    // Narrowed, the count is exact again.
    const narrowed = await run('UADMIN1', 'find capmatch 19');
    expect(totalOf(narrowed)).toBe(11);
  }, 30_000);

  it('says clearly when nobody matches', async () => {
    const answer = await run('UADMIN1', 'find zzqx-nobody-has-this');
    expect(answer.ack.json?.response_type).toBe('ephemeral');
    expect(answer.ackText).toContain('whose name or email contains “zzqx-nobody-has-this”');
    expect(answer.ackText).toContain('Nobody matches: try part of a name or of an email.');
    expect(answerText(answer)).not.toMatch(/<@U/);
  });

  it('answers a search by @-mention, a bad page or nothing to find with its usage', async () => {
    const someone = await member();
    const mention = await run('UADMIN1', `list <@${someone}|someone>`);
    expect(mention.ack.json?.response_type).toBe('ephemeral');
    expect(mention.ackText).toContain('Search by name or email rather than by @-mention.');
    // The usage as mrkdwn: Slack shows &lt; and &gt; as < and >.
    expect(mention.ackText).toContain('Usage: /chatbees-users list [admins|users|&lt;name or email&gt;] [page N]');
    expect((await run('UADMIN1', `find <@${someone}>`)).ackText).toContain('rather than by @-mention');
    expect((await run('UADMIN1', 'find')).ackText).toContain('Say what to look for. Usage: /chatbees-users find');
    expect((await run('UADMIN1', 'list ana page 0')).ackText).toContain('Give a page number from 1.');
    expect((await run('UADMIN1', 'find ana page 0')).ackText).toContain('Give a page number from 1.');
    expect((await run('UADMIN1', `find ${'x'.repeat(101)}`)).ackText).toContain('at most 100 characters');
  });

  it('sends a search together with the read of who asks, not after its answer', async () => {
    await seed([{ id: 'UTOGETHER1', name: 'Together Quince' }]);
    const recorded = recordStatements(t.db.knex);
    let answer: Ack;
    try {
      answer = await run('UADMIN1', 'list quince');
    } finally {
      recorded.stop();
    }
    expect(listed(answer)).toEqual(['UTOGETHER1']);
    const whoAsks = recorded.statements.find((s) => s.name === 'resolve_actors');
    const search = recorded.statements.find((s) => s.text.includes('search_text LIKE'));
    // The permission middleware's read, and the page's: the second was sent before the first
    // answered (one connection on PGlite: before the first was even sent).
    expect(whoAsks?.answered).toBeDefined();
    expect(search?.sent).toBeLessThan(whoAsks?.answered ?? 0);
  });

  it('refuses searches to an AccountUser and a non-member, shows nobody, and audits it', async () => {
    await seed([{ id: 'USECRET1', name: 'Secret Kumquat Person', email: 'secret.kumquat@x.test' }]);
    const user = await member();
    const stranger = person();
    for (const [who, text] of [
      [user, 'list kumquat'],
      [user, 'find secret'],
      [user, 'list admins'],
      [stranger, 'search kumquat'],
    ] as const) {
      const answer = await run(who, text);
      expect(answer.ack.json?.response_type, text).toBe('ephemeral');
      const all = answerText(answer);
      expect(all, text).toMatch(
        who === user
          ? /needs the AccountAdmin role; you are an AccountUser/
          : /You are not registered in this ChatBees account/,
      );
      expect(all, text).not.toMatch(/kumquat|secret|<@U(?!ADMIN1)/i);
    }
    const refused = await waitFor(async () => {
      const rows = (await auditRows()).filter(
        (r) => r.action === 'access.refused' && (r.actor === user || r.actor === stranger),
      );
      return rows.length === 3 && rows;
    });
    expect(refused.map((r) => [r.actor, r.after.operation, r.after.reason]).sort()).toEqual(
      [
        [user, 'members.list', 'not_admin'],
        [user, 'members.find', 'not_admin'],
        [stranger, 'members.find', 'not_member'],
      ].sort(),
    );
  });
});
