// `/chatbees-users export members|audit [days]` end to end: the real bot over Slack-signed HTTP,
// its database on each backend, the Slack stand-in taking the upload (files.getUploadURLExternal,
// the bytes, files.completeUploadExternal). The file is read back as a spreadsheet would
// (RFC 4180) and compared with the database cell by cell.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { commandBot } from '../../support/command-bot.js';
import { backends } from '../../support/databases.js';
import { insertMembers } from '../../support/fixtures.js';
import { waitFor } from '../../support/slack-stand-in.js';

/**
 * RFC 4180, strictly: fields quoted when they hold a comma, quote or line break, quotes doubled,
 * CRLF between records and after the last. Anything else (a bare LF or CR between records, a
 * quote inside an unquoted field, text after a closing quote) throws.
 */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not RFC 4180 at ${i} (${why}): ${JSON.stringify(text.slice(Math.max(0, i - 30), i + 30))}`);
  };
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) fail('unclosed quote');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else cell += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') fail('quote in an unquoted field');
        cell += text[i++];
      }
    }
    row.push(cell);
    if (text[i] === ',') {
      i++;
    } else if (text[i] === '\r' && text[i + 1] === '\n') {
      rows.push(row);
      row = [];
      i += 2;
    } else fail(i >= text.length ? 'no CRLF after the last record' : 'bare line break or text after a quote');
  }
  if (row.length) fail('unterminated record');
  return rows;
}

/** What a spreadsheet must not run as a formula gets a leading apostrophe. */
const neutral = (value: string) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
const iso = (value: unknown) =>
  value === null || value === undefined ? '' : new Date(value as string).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** The dates a file made now may carry (a run across midnight UTC). */
const today = (started: number) => [
  new Date(started).toISOString().slice(0, 10),
  new Date(Date.now()).toISOString().slice(0, 10),
];

const MEMBER_HEADER =
  'slack_user_id,name,email,role,status,joined_utc,invited_by,invited_by_name,removed_utc,deactivated_in_slack_utc';
const AUDIT_HEADER = 'when_utc,who,who_name,what,whom,whom_name,details';
const DAY = 86_400_000;

describe.each(backends)('/chatbees-users export on $name', (backend) => {
  const { t, member, person, run, auditRows } = commandBot(backend);
  const accountId = () => t.running.account.id;

  /** Runs an export and waits for its answer and the file it shared (if any). */
  async function exported(user: string, text: string, timeoutMs = 10_000) {
    const filesBefore = t.standIn.files.length;
    const started = Date.now();
    const command = await run(user, text);
    const answer = String(
      (await waitFor(() => command.followUps()[0], timeoutMs, `the answer to "${text}"`)).body.text ?? '',
    );
    const [file, ...more] = t.standIn.files.slice(filesBefore);
    expect(more).toEqual([]);
    return { command, answer, file, started };
  }

  /** The length the bot gave Slack before posting the bytes of file `id`. */
  function announcedLength(id: string): number {
    const call = t.standIn
      .callsTo('files.getUploadURLExternal')
      .find((c) => (c.response as { file_id?: string } | undefined)?.file_id === id);
    expect(call, `getUploadURLExternal for ${id}`).toBeDefined();
    return Number(call?.params.length);
  }

  const exportEntries = async () =>
    (await auditRows()).filter((r) => r.action === 'members.exported' || r.action === 'audit.exported');

  /** The members as the export should write them: active by name, then removed by name. */
  async function expectedMemberRows(): Promise<string[][]> {
    const all = await t.db
      .knex('members')
      .where({ account_id: accountId() })
      .orderBy([
        { column: 'sort_name', order: 'asc' },
        { column: 'slack_user_id', order: 'asc' },
      ]);
    const names = new Map(all.map((m) => [m.slack_user_id as string, m.display_name as string | null]));
    const ordered = [...all.filter((m) => m.status === 'active'), ...all.filter((m) => m.status === 'removed')];
    return ordered.map((m) =>
      [
        m.slack_user_id,
        m.display_name ?? '',
        m.email ?? '',
        m.role,
        m.status,
        iso(m.registered_at),
        m.invited_by ?? '',
        (m.invited_by && names.get(m.invited_by)) ?? '',
        iso(m.removed_at),
        iso(m.slack_deactivated_at),
      ].map((v) => neutral(String(v))),
    );
  }

  describe('export members', () => {
    it("shares a CSV of every member in the admin's DM, safe for a spreadsheet, and audits it", async () => {
      const people: Array<{ id: string; name: string | null; email?: string }> = [
        { id: 'UEXP01', name: '=HYPERLINK("http://evil","x")', email: 'evil@x.test' },
        { id: 'UEXP02', name: '+1' },
        { id: 'UEXP03', name: '-2' },
        { id: 'UEXP04', name: '@SUM(A1)' },
        { id: 'UEXP05', name: 'Zoë Ñúñez', email: 'zoe.nunez@x.test' },
        { id: 'UEXP06', name: '李小龍' },
        { id: 'UEXP07', name: '🐝 Bee Keeper' },
        { id: 'UEXP08', name: 'Smith, John "Johnny"' },
        { id: 'UEXP09', name: 'Two\nLines' },
        { id: 'UEXP10', name: '\tTabbed' },
        { id: 'UEXP11', name: 'Gone Person', email: 'gone@x.test' },
        { id: 'UEXP12', name: null, email: '=cmd|calc@x.test' },
      ];
      await insertMembers(
        t.db.knex,
        t.running.account,
        people.map((p) => ({ slackUserId: p.id, displayName: p.name ?? undefined })),
      );
      const row = (id: string) => t.db.knex('members').where({ account_id: accountId(), slack_user_id: id });
      for (const p of people) if (p.email) await row(p.id).update({ email: p.email });
      await row('UEXP02').update({ invited_by: 'UEXP05' });
      await row('UEXP11').update({
        status: 'removed',
        removed_at: new Date('2026-11-20T10:11:12Z'),
        removed_by: 'UADMIN1',
      });
      await row('UEXP07').update({ slack_deactivated_at: new Date('2026-11-21T01:02:03.456Z') });

      const { command, answer, file, started } = await exported('UADMIN1', 'export members');
      expect(command.ack.json?.response_type).toBe('ephemeral');
      expect(command.ackText).toBe('Exporting the members: the file will be in your DM from the app in a moment…');
      const expected = await expectedMemberRows();

      // Shared in the admin's DM with the app.
      expect(file).toBeDefined();
      if (!file) return;
      expect(file.channel).toBe('DADMIN1');
      expect(t.standIn.callsTo('conversations.open').some((c) => c.params.users === 'UADMIN1')).toBe(true);
      expect(today(started).map((d) => `chatbees-members-${d}.csv`)).toContain(file.filename);
      expect(file.title).toBe(`ChatBees members (${expected.length} rows)`);
      expect(file.comment).toContain('It holds emails');

      // The length announced first is the length of the bytes posted.
      const bytes = Buffer.byteLength(file.content, 'utf8');
      expect(announcedLength(file.id)).toBe(bytes);

      // The bytes: a BOM, the header, CRLF, RFC 4180 quoting, formulas neutralised.
      const content = file.content;
      expect(content.startsWith(`\uFEFF${MEMBER_HEADER}\r\n`)).toBe(true);
      expect(content.endsWith('\r\n')).toBe(true);
      expect(content).toContain(`UEXP01,"'=HYPERLINK(""http://evil"",""x"")",evil@x.test,`);
      expect(content).toContain("UEXP02,'+1,,AccountUser,active,");
      expect(content).toContain(',UEXP05,Zoë Ñúñez,,\r\n');
      expect(content).toContain("UEXP03,'-2,");
      expect(content).toContain("UEXP04,'@SUM(A1),");
      expect(content).toContain('UEXP05,Zoë Ñúñez,zoe.nunez@x.test,');
      expect(content).toContain('UEXP06,李小龍,');
      expect(content).toContain('UEXP07,🐝 Bee Keeper,');
      expect(content).toContain('UEXP08,"Smith, John ""Johnny""",');
      expect(content).toContain('UEXP09,"Two\nLines",');
      expect(content).toContain("UEXP10,'\tTabbed,");
      expect(content).toContain("UEXP12,,'=cmd|calc@x.test,");
      expect(content).toMatch(
        /\r\nUEXP11,Gone Person,gone@x\.test,AccountUser,removed,[^,]+,,,2026-11-20T10:11:12Z,\r\n$/,
      );
      expect(content).toContain(',2026-11-21T01:02:03Z\r\n');

      // Read back, it is the database, cell by cell (removed members last).
      const rows = parseCsv(content.slice(1));
      expect(rows[0]).toEqual(MEMBER_HEADER.split(','));
      expect(rows.slice(1)).toEqual(expected);
      expect(rows.at(-1)?.[0]).toBe('UEXP11');

      // The answer names the file and the rows; the export is in the audit log.
      expect(answer).toBe(
        `:page_facing_up: Exported the members (${expected.length} rows): \`${file.filename}\` is in your DM from the app.`,
      );
      const entries = await exportEntries();
      expect(entries.at(-1)).toMatchObject({
        actor: 'UADMIN1',
        action: 'members.exported',
        source: 'slash_command',
        after: { rows: expected.length, bytes, filename: file.filename },
      });
      const audit = await run('UADMIN1', 'audit 1');
      expect(audit.ackText).toContain(`<@UADMIN1> exported the members (${expected.length} rows) to a file`);
    });

    it('exports once when Slack delivers the same command again', async () => {
      const before = { files: t.standIn.files.length, exports: (await exportEntries()).length };
      const ignoredBefore = t.running.logs.filter((l) => l.includes('redelivered command ignored')).length;
      const body = t.running.slack.commandBody('UADMIN1', 'export members');
      const id = (body.get('response_url') as string).split('/').pop();
      const first = await t.running.slack.post(body.toString());
      expect(first.status).toBe(200);
      const again = await t.running.slack.post(body.toString(), {
        'X-Slack-Retry-Num': '1',
        'X-Slack-Retry-Reason': 'http_timeout',
      });
      expect(again.status).toBe(200);
      await waitFor(
        () => t.running.logs.filter((l) => l.includes('redelivered command ignored')).length > ignoredBefore,
        5_000,
        'the redelivery',
      );
      await waitFor(() => t.standIn.responseUrlPosts.some((r) => r.id === id), 10_000, 'the answer');
      expect(t.standIn.responseUrlPosts.filter((r) => r.id === id)).toHaveLength(1);
      expect(t.standIn.files.length).toBe(before.files + 1);
      expect((await exportEntries()).length).toBe(before.exports + 1);
    });

    it('without files:write tells the admin to reinstall, and shares nothing', async () => {
      t.standIn.missingScopes.add('files.getUploadURLExternal');
      try {
        const dmsBefore = t.standIn.dmsTo('UADMIN1').length;
        const { answer, file } = await exported('UADMIN1', 'export members');
        expect(answer).toContain('The app may not upload files in this workspace: reinstall it to allow files');
        expect(answer).not.toContain('Exported');
        expect(file).toBeUndefined();
        // No copy of the emails by DM instead.
        expect(t.standIn.dmsTo('UADMIN1')).toHaveLength(dmsBefore);
      } finally {
        t.standIn.missingScopes.delete('files.getUploadURLExternal');
      }
    });

    it('says nothing was shared when Slack does not take the file', async () => {
      t.standIn.fail('files.completeUploadExternal', { error: 'internal_error' });
      const { answer, file } = await exported('UADMIN1', 'export members');
      expect(answer).toBe('Slack did not take the file, so nothing was shared. Try again in a minute.');
      expect(file).toBeUndefined();
    });

    it('is refused to an AccountUser and a non-member: audited, no file, no export entry', async () => {
      const user = await member();
      const stranger = person();
      const before = { files: t.standIn.files.length, exports: (await exportEntries()).length };
      const refusedUser = await run(user, 'export members');
      expect(refusedUser.ack.json?.response_type).toBe('ephemeral');
      expect(refusedUser.ackText).toMatch(/needs the AccountAdmin role; you are an AccountUser/);
      const refusedStranger = await run(stranger, 'export audit');
      expect(refusedStranger.ackText).toMatch(/You are not registered in this ChatBees account/);
      const refusals = await waitFor(async () => {
        const rows = (await auditRows()).filter(
          (r) => r.action === 'access.refused' && (r.actor === user || r.actor === stranger),
        );
        return rows.length === 2 && rows;
      });
      expect(refusals.map((r) => [r.actor, r.after.operation, r.after.reason]).sort()).toEqual(
        [
          [user, 'data.export', 'not_admin'],
          [stranger, 'data.export', 'not_member'],
        ].sort(),
      );
      // An admin's export after theirs: only that one's file and entry.
      const { file } = await exported('UADMIN1', 'export members');
      expect(file).toBeDefined();
      expect(t.standIn.files.length).toBe(before.files + 1);
      expect((await exportEntries()).length).toBe(before.exports + 1);
      expect(refusedUser.followUps()).toEqual([]);
      expect(refusedStranger.followUps()).toEqual([]);
    });
  });

  describe('export audit', () => {
    it('exports the last 30 days by default and up to 365 when asked, newest first', async () => {
      const now = Date.now();
      const entry = (daysAgo: number, after: Record<string, unknown>) => ({
        account_id: accountId(),
        actor: 'UADMIN1',
        action: 'member.role_changed',
        target_slack_user_id: 'UAUD01',
        before: JSON.stringify({ role: 'AccountUser' }),
        after: JSON.stringify(after),
        source: 'console',
        created_at: new Date(now - daysAgo * DAY),
      });
      await insertMembers(t.db.knex, t.running.account, [{ slackUserId: 'UAUD01', displayName: '=Audited, "One"' }]);
      await t.db
        .knex('audit_log')
        .insert([
          entry(10, { role: 'AccountAdmin', note: 'ten days, "quoted", with commas' }),
          entry(40, { role: 'AccountAdmin', note: 'forty days' }),
          entry(400, { role: 'AccountAdmin', note: 'four hundred days' }),
        ]);
      const lastId = Number((await t.db.knex('audit_log').max({ id: 'id' }).first())?.id);

      /** The audit log as an export of `days` should hold it (entries up to `lastId`). */
      const expectedFor = async (days: number) => {
        const rows = await t.db
          .knex('audit_log')
          .where({ account_id: accountId() })
          .andWhere('id', '<=', lastId)
          .andWhere('created_at', '>=', new Date(now - days * DAY))
          .orderBy('id', 'desc');
        const members = await t.db.knex('members').where({ account_id: accountId() });
        const names = new Map(members.map((m) => [m.slack_user_id as string, m.display_name as string | null]));
        return rows.map((r) => {
          const details: Record<string, unknown> = { source: r.source };
          if (r.before) details.before = r.before;
          if (r.after) details.after = r.after;
          if (r.target_invite_id) details.invite = r.target_invite_id;
          return [
            iso(r.created_at),
            r.actor,
            names.get(r.actor) ?? '',
            r.action,
            r.target_slack_user_id ?? (r.target_invite_id ? `invite ${r.target_invite_id}` : ''),
            (r.target_slack_user_id && names.get(r.target_slack_user_id)) ?? '',
            JSON.stringify(details),
          ].map((v) => neutral(String(v)));
        });
      };
      /** Parsed rows, with details compared as JSON (key order aside). */
      const comparable = (rows: string[][]) =>
        rows.map((r) => [...r.slice(0, 6), JSON.parse(r[6] as string) as unknown]);

      const month = await exported('UADMIN1', 'export audit');
      expect(month.command.ackText).toBe(
        "Exporting the audit log's last 30 days: the file will be in your DM from the app in a moment…",
      );
      const monthFile = month.file;
      expect(monthFile).toBeDefined();
      if (!monthFile) return;
      expect(today(month.started).map((d) => `chatbees-audit-30d-${d}.csv`)).toContain(monthFile.filename);
      expect(monthFile.channel).toBe('DADMIN1');
      expect(announcedLength(monthFile.id)).toBe(Buffer.byteLength(monthFile.content, 'utf8'));
      expect(monthFile.content.startsWith(`\uFEFF${AUDIT_HEADER}\r\n`)).toBe(true);
      const monthRows = parseCsv(monthFile.content.slice(1));
      expect(monthRows[0]).toEqual(AUDIT_HEADER.split(','));
      const expectedMonth = await expectedFor(30);
      expect(comparable(monthRows.slice(1))).toEqual(comparable(expectedMonth));
      expect(monthFile.content).toContain('ten days, \\""quoted\\"", with commas');
      expect(monthFile.content).not.toContain('forty days');
      expect(monthFile.content).not.toContain('four hundred days');
      // The target's hostile name is neutralised too.
      expect(monthFile.content).toContain(`,UAUD01,"'=Audited, ""One""",`);
      // Newest first, as written (the entries back-dated above were written last: left aside).
      const whens = monthRows
        .slice(1)
        .filter((r) => r[4] !== 'UAUD01')
        .map((r) => r[0] as string);
      expect(whens.length).toBeGreaterThan(3);
      expect(whens).toEqual([...whens].sort().reverse());
      expect(month.answer).toBe(
        `:page_facing_up: Exported the audit log's last 30 days (${expectedMonth.length} rows): \`${monthFile.filename}\` is in your DM from the app.`,
      );

      const year = await exported('UADMIN1', 'export audit 365');
      const yearFile = year.file;
      expect(yearFile).toBeDefined();
      if (!yearFile) return;
      expect(yearFile.filename).toMatch(/^chatbees-audit-365d-\d{4}-\d\d-\d\d\.csv$/);
      expect(yearFile.content).toContain('forty days');
      expect(yearFile.content).not.toContain('four hundred days');
      // The year's file is the month's export entry (the newest), then the log as it was.
      const yearRows = parseCsv(yearFile.content.slice(1)).slice(1);
      expect(yearRows[0]?.slice(1, 4)).toEqual(['UADMIN1', expect.any(String), 'audit.exported']);
      expect(comparable(yearRows.slice(1))).toEqual(comparable(await expectedFor(365)));

      // "90 days" and "90d" are the same ask.
      for (const words of ['export audit 90 days', 'export audit 90d', 'export audit 90']) {
        const ninety = await exported('UADMIN1', words);
        expect(ninety.file?.filename, words).toMatch(/^chatbees-audit-90d-/);
        expect(ninety.answer, words).toContain("Exported the audit log's last 90 days");
      }

      const entries = (await exportEntries()).filter((r) => r.action === 'audit.exported');
      expect(entries.map((e) => e.after.days)).toEqual([30, 365, 90, 90, 90]);
      expect(entries[0].after).toMatchObject({
        rows: expectedMonth.length,
        bytes: Buffer.byteLength(monthFile.content, 'utf8'),
        filename: monthFile.filename,
        days: 30,
      });
      const audit = await run('UADMIN1', 'audit 1');
      expect(audit.ackText).toMatch(/<@UADMIN1> exported the audit log's last 90 days \(\d+ rows\) to a file/);
    });

    it('answers days out of range or not a number with its usage, and changes nothing', async () => {
      const before = {
        files: t.standIn.files.length,
        uploads: t.standIn.callsTo('files.getUploadURLExternal').length,
        audit: (await auditRows()).length,
      };
      const asked: Array<[string, string]> = [
        ['export audit 400', 'Give the number of days, from 1 to 365.'],
        ['export audit 0', 'Give the number of days, from 1 to 365.'],
        ['export audit x', 'Give the number of days, from 1 to 365.'],
        ['export audit 30 weeks', 'Give the number of days, from 1 to 365.'],
        ['export audit 30 days more', 'Give the number of days, from 1 to 365.'],
        ['export', 'Say what to export: members or audit.'],
        ['export everyone', 'Say what to export: members or audit.'],
        ['export members please', 'Say what to export: members or audit.'],
      ];
      const answers = [];
      for (const [text, words] of asked) {
        const answer = await run('UADMIN1', text);
        expect(answer.ack.json?.response_type, text).toBe('ephemeral');
        expect(answer.ackText, text).toContain(words);
        expect(answer.ackText, text).toContain('Usage: /chatbees-users export members|audit [days, up to 365]');
        answers.push(answer);
      }
      // After a good export has finished, only its file and its entry were added.
      const { file } = await exported('UADMIN1', 'export audit 7');
      expect(file?.filename).toMatch(/^chatbees-audit-7d-/);
      expect(t.standIn.files.length).toBe(before.files + 1);
      expect(t.standIn.callsTo('files.getUploadURLExternal').length).toBe(before.uploads + 1);
      const added = (await auditRows()).slice(before.audit);
      expect(added.map((r) => r.action)).toEqual(['audit.exported']);
      for (const answer of answers) expect(answer.followUps()).toEqual([]);
    });
  });

  describe('a big export', () => {
    const big = commandBot(backend);

    it('streams 20,000 members to the file, and leaves no temporary file behind', async () => {
      const knex = big.t.db.knex;
      const account = big.t.running.account;
      // UADMIN1 and 19,999 more.
      await insertMembers(
        knex,
        account,
        Array.from({ length: 19_999 }, (_, i) => ({
          slackUserId: `UBIG${String(i).padStart(5, '0')}`,
          displayName: `Big Member ${String(i).padStart(5, '0')}`,
        })),
      );
      await knex('members')
        .where({ account_id: account.id })
        .andWhere('slack_user_id', 'like', 'UBIG%')
        .update({ email: knex.raw("lower(slack_user_id) || '@big.test'") });
      const exportDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('chatbees-users-export-'));
      const dirsBefore = new Set(exportDirs());

      const filesBefore = big.t.standIn.files.length;
      const command = await big.run('UADMIN1', 'export members');
      expect(command.ackText).toContain('Exporting the members');
      const answer = String((await waitFor(() => command.followUps()[0], 60_000, 'the big export')).body.text ?? '');
      expect(answer).toMatch(/^:page_facing_up: Exported the members \(20,000 rows\): `chatbees-members-/);
      const [file] = big.t.standIn.files.slice(filesBefore);
      expect(file).toBeDefined();
      if (!file) return;
      const lines = file.content.split('\r\n');
      // 20,001 lines (the header and a member each), each ended by CRLF.
      expect(lines).toHaveLength(20_002);
      expect(lines.at(-1)).toBe('');
      expect(lines[0]).toBe(`\uFEFF${MEMBER_HEADER}`);
      const rows = parseCsv(file.content.slice(1)).slice(1);
      expect(rows).toHaveLength(20_000);
      expect(new Set(rows.map((r) => r[0])).size).toBe(20_000);
      expect(rows.find((r) => r[0] === 'UBIG00000')?.slice(0, 5)).toEqual([
        'UBIG00000',
        'Big Member 00000',
        'ubig00000@big.test',
        'AccountUser',
        'active',
      ]);
      expect(rows.filter((r) => r[2]?.endsWith('@big.test'))).toHaveLength(19_999);
      const bytes = Buffer.byteLength(file.content, 'utf8');
      const call = big.t.standIn
        .callsTo('files.getUploadURLExternal')
        .find((c) => (c.response as { file_id?: string } | undefined)?.file_id === file.id);
      expect(Number(call?.params.length)).toBe(bytes);
      const entry = (await knex('audit_log').where({ account_id: account.id, action: 'members.exported' }))[0];
      expect(entry.after).toMatchObject({ rows: 20_000, bytes });
      // The file written on the way is gone once shared.
      await waitFor(() => exportDirs().every((d) => dirsBefore.has(d)), 5_000, 'the temporary file removed');
    }, 120_000);
  });
});
