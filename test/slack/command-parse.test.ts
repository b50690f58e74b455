import { describe, expect, it } from 'vitest';
import { MAX_INVITEES } from '../../src/services/operations/invite-people.js';
import { commandOperation, MAX_TEXT_LENGTH, parseCommand } from '../../src/slack/command/parse.js';

describe('parseCommand', () => {
  it('reads each subcommand', () => {
    expect(parseCommand('')).toEqual({ kind: 'console' });
    expect(parseCommand('   ')).toEqual({ kind: 'console' });
    expect(parseCommand('help')).toEqual({ kind: 'help' });
    expect(parseCommand('HELP')).toEqual({ kind: 'help' });
    expect(parseCommand('whoami')).toEqual({ kind: 'whoami' });
    expect(parseCommand('list')).toEqual({ kind: 'list', page: 1 });
    expect(parseCommand('list page 3')).toEqual({ kind: 'list', page: 3 });
    expect(parseCommand('list 4')).toEqual({ kind: 'list', page: 4 });
    expect(parseCommand('invites')).toEqual({ kind: 'invites', page: 1 });
    expect(parseCommand('invites page 3')).toEqual({ kind: 'invites', page: 3 });
    expect(parseCommand('pending 2')).toEqual({ kind: 'invites', page: 2 });
    expect(parseCommand('invite')).toEqual({ kind: 'invite_link' });
    expect(parseCommand('revoke abcd2345ef')).toEqual({ kind: 'revoke', inviteId: 'abcd2345ef' });
    expect(parseCommand('revoke `abcd2345ef`')).toEqual({ kind: 'revoke', inviteId: 'abcd2345ef' });
    expect(parseCommand('audit')).toEqual({ kind: 'audit', limit: 10 });
    expect(parseCommand('audit 25')).toEqual({ kind: 'audit', limit: 25 });
    expect(parseCommand('requests')).toEqual({ kind: 'requests' });
  });

  it('reads where access requests go: a channel as Slack escapes it (label or not), a bare id, off, or nothing', () => {
    expect(parseCommand('requests channel')).toEqual({ kind: 'requests_channel' });
    expect(parseCommand('requests channel <#C0REQS01|access-requests>')).toEqual({
      kind: 'requests_channel',
      channel: 'C0REQS01',
    });
    expect(parseCommand('requests CHANNEL <#C0REQS01|>')).toEqual({ kind: 'requests_channel', channel: 'C0REQS01' });
    expect(parseCommand('requests channel <#G0PRIV01>')).toEqual({ kind: 'requests_channel', channel: 'G0PRIV01' });
    expect(parseCommand('requests channel C0REQS01')).toEqual({ kind: 'requests_channel', channel: 'C0REQS01' });
    expect(parseCommand('requests channel off')).toEqual({ kind: 'requests_channel', channel: null });
    expect(parseCommand('requests channel #general')).toMatchObject({ kind: 'invalid', name: 'requests' });
    expect(parseCommand('requests channel <@U0BOB001>')).toMatchObject({ kind: 'invalid', name: 'requests' });
    expect(parseCommand('requests channel <#C0REQS01|a> more')).toMatchObject({ kind: 'invalid', name: 'requests' });
    expect(parseCommand('requests 3')).toMatchObject({ kind: 'invalid', name: 'requests' });
    expect(commandOperation(parseCommand('requests channel off'))?.id).toBe('access.requests_channel');
    expect(commandOperation(parseCommand('requests'))?.id).toBe('access.list');
  });

  it('accepts escaped and plain mentions and bare user ids', () => {
    expect(parseCommand('invite <@U012AB3CD|alice> <@W0456EF7G> U0789HIJK')).toEqual({
      kind: 'invite',
      users: ['U012AB3CD', 'W0456EF7G', 'U0789HIJK'],
    });
    expect(parseCommand('invite <@U012AB3CD|alice> <@U012AB3CD>')).toEqual({ kind: 'invite', users: ['U012AB3CD'] });
    expect(parseCommand('role <@U012AB3CD|alice> AccountAdmin')).toEqual({
      kind: 'role',
      user: 'U012AB3CD',
      role: 'AccountAdmin',
    });
    expect(parseCommand('remove <@U012AB3CD|alice smith>')).toEqual({ kind: 'remove', user: 'U012AB3CD' });
  });

  it('takes roles in their product names or as admin/user, in any case', () => {
    for (const [word, role] of [
      ['AccountAdmin', 'AccountAdmin'],
      ['accountadmin', 'AccountAdmin'],
      ['ADMIN', 'AccountAdmin'],
      ['admin', 'AccountAdmin'],
      ['AccountUser', 'AccountUser'],
      ['User', 'AccountUser'],
    ] as const) {
      expect(parseCommand(`role <@U012AB3CD> ${word}`)).toEqual({ kind: 'role', user: 'U012AB3CD', role });
    }
  });

  it('explains what is wrong in one line, keeping the subcommand for the permission check', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['role', 'role', /Name one person and a role/],
      ['role <@U012AB3CD>', 'role', /Name one person and a role/],
      ['role <@U012AB3CD> owner', 'role', /"owner" is not a role: use AccountAdmin or AccountUser/],
      ['role @alice admin', 'role', /"@alice" is not a Slack user/],
      ['remove', 'remove', /Name one person/],
      ['remove <@U012AB3CD> <@U0456EF7G>', 'remove', /Name one person/],
      ['invite @bob', 'invite', /"@bob" is not a Slack user/],
      ['revoke', 'revoke', /Name one invite id/],
      ['revoke NOT-AN-ID!', 'revoke', /is not an invite id/],
      ['find', 'find', /Say what to look for/],
      ['find <@U012AB3CD>', 'find', /rather than by @-mention/],
      ['export', 'export', /members or audit/],
      ['export audit 400', 'export', /from 1 to 365/],
      ['export audit 30 weeks', 'export', /number of days/],
      ['list page 0', 'list', /page number/],
      ['audit 500', 'audit', /from 1 to 50/],
      ['help me', 'help', /takes nothing more/],
      ['invites page 0', 'invites', /page number from 1/],
      ['invites <@U012AB3CD>', 'invites', /takes a page number only/],
      ['invites page two', 'invites', /takes a page number only/],
    ];
    for (const [text, name, message] of cases) {
      const parsed = parseCommand(text);
      expect(parsed, text).toMatchObject({ kind: 'invalid', name });
      expect(parsed.kind === 'invalid' && parsed.message, text).toMatch(message);
      expect(parsed.kind === 'invalid' && parsed.message.includes('\n'), text).toBe(false);
    }
  });

  it('refuses more than 50 people at once', () => {
    const many = Array.from({ length: MAX_INVITEES + 1 }, (_, i) => `<@U${String(i).padStart(8, '0')}>`).join(' ');
    const parsed = parseCommand(`invite ${many}`);
    expect(parsed).toMatchObject({ kind: 'invalid', name: 'invite' });
    expect(parsed.kind === 'invalid' && parsed.message).toMatch(/at most 50 people.*nothing was sent/);
    const fifty = Array.from({ length: MAX_INVITEES }, (_, i) => `<@U${String(i).padStart(8, '0')}>`).join(' ');
    expect(parseCommand(`invite ${fifty}`)).toMatchObject({ kind: 'invite' });
  });

  it('refuses overlong text and control characters', () => {
    expect(parseCommand('x'.repeat(4000))).toMatchObject({
      kind: 'invalid',
      name: null,
      message: expect.stringMatching(/too long/),
    });
    expect(parseCommand('x'.repeat(MAX_TEXT_LENGTH))).toMatchObject({ kind: 'unknown' });
    expect(parseCommand('list\u0000')).toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/control characters/),
    });
    expect(parseCommand('list\u001b[31m')).toMatchObject({ kind: 'invalid' });
    expect(parseCommand('list\tpage\t2')).toEqual({ kind: 'list', page: 2 });
  });

  it('names an unknown subcommand, shortened', () => {
    expect(parseCommand('frobnicate now')).toEqual({ kind: 'unknown', word: 'frobnicate' });
    expect(parseCommand(`${'z'.repeat(100)}`)).toEqual({ kind: 'unknown', word: 'z'.repeat(40) });
    expect(parseCommand('<@U012AB3CD> invite')).toMatchObject({ kind: 'invalid', name: null });
  });

  it('treats names of object internals as unknown words, not as subcommands', () => {
    for (const word of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      expect(parseCommand(word)).toEqual({ kind: 'unknown', word });
      expect(parseCommand(`${word} <@U012AB3CD>`)).toEqual({ kind: 'unknown', word });
    }
  });

  it('never throws, whatever the input', () => {
    for (const input of [
      undefined,
      null,
      42,
      {},
      '<@',
      '<@U>',
      '<@U123|',
      '<<@U1>>',
      '>'.repeat(3000),
      '\u{1F41D}'.repeat(100),
    ]) {
      expect(() => parseCommand(input)).not.toThrow();
    }
  });

  it('knows which commands need AccountAdmin', () => {
    const admin = [
      'list',
      'invite <@U012AB3CD>',
      'invite',
      'invites',
      'revoke abcdefgh',
      'role <@U012AB3CD> admin',
      'remove <@U012AB3CD>',
      'audit',
      'role',
      'remove nobody',
    ];
    const everyone = ['', 'help', 'whoami', 'nonsense', 'x'.repeat(4000)];
    for (const text of admin) expect(commandOperation(parseCommand(text))?.who, text).toBe('admin');
    for (const text of everyone) expect(commandOperation(parseCommand(text))?.who, text).not.toBe('admin');
  });
});
