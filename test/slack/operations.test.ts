// The operations table drives the parser's words, who may run what, the help and the hint:
// each operation is reachable as the table says, and nothing reaches an operation it does not list.
import { describe, expect, it } from 'vitest';
import { help, unknownCommand } from '../../src/slack/blocks/messages.js';
import { commandOperation, parseCommand, USAGE } from '../../src/slack/command/parse.js';
import {
  BUTTONS,
  buttonOperation,
  checkHandlers,
  eventOperation,
  FORMS,
  formOperation,
  HANDLED_BUTTONS,
  OPERATIONS,
  subcommandOf,
} from '../../src/slack/operations.js';

describe('the operations table', () => {
  it('gives each operation one key, and each word, button and form one operation', () => {
    const ids = OPERATIONS.map((o) => o.id);
    expect(new Set(ids).size).toBe(ids.length);
    const words = OPERATIONS.flatMap((o) => o.subcommand?.words ?? []);
    expect(new Set(words).size).toBe(words.length);
    for (const button of Object.values(BUTTONS)) expect(buttonOperation(button), button).toBeDefined();
    for (const form of Object.values(FORMS)) expect(formOperation(form), form).toBeDefined();
    expect(buttonOperation('__proto__')).toBeUndefined();
    expect(subcommandOf('constructor')).toBeUndefined();
  });

  it('refuses to start when a button or form the table lists has no handler, or a handler is not in it', () => {
    expect(() => checkHandlers('button', HANDLED_BUTTONS)).not.toThrow();
    expect(HANDLED_BUTTONS).not.toContain(BUTTONS.openRegistrationLink);
    expect(() => checkHandlers('button', HANDLED_BUTTONS.slice(1))).toThrow(/missing home_open_console;/);
    expect(() => checkHandlers('button', [...HANDLED_BUTTONS, 'stray_button'])).toThrow(
      /not in the table stray_button/,
    );
    expect(() => checkHandlers('form', [FORMS.invitePeople, FORMS.denyRequest, FORMS.console])).not.toThrow();
    expect(() => checkHandlers('form', [FORMS.invitePeople, FORMS.console])).toThrow(
      /missing access_request_deny_reason;/,
    );
    expect(() => checkHandlers('form', [])).toThrow(/missing invite_people/);
    expect(eventOperation('app_home_opened')?.id).toBe('home.open');
    expect(eventOperation('team_join')).toBeUndefined();
  });

  it('reaches each subcommand by each of its words, and asks the role the table says', () => {
    // What each subcommand needs after its word to be usable (bare `invite` makes a link for anyone).
    const args: Record<string, string> = {
      invite: ' <@U0BOB001>',
      role: ' <@U0BOB001> admin',
      remove: ' <@U0BOB001>',
      revoke: ' abcdefghij',
      find: ' ana',
      export: ' members',
    };
    for (const operation of OPERATIONS) {
      for (const word of operation.subcommand?.words ?? []) {
        const command = parseCommand(`${word.toUpperCase()}${args[operation.subcommand?.name ?? ''] ?? ''}`);
        expect(command.kind, word).not.toBe('invalid');
        const reached = commandOperation(command);
        expect(reached?.id, word).toBe(operation.id);
      }
    }
    expect(commandOperation(parseCommand(''))?.id).toBe('console.open');
    expect(commandOperation(parseCommand('invite link for 3d'))?.id).toBe('invites.share_link');
    expect(commandOperation(parseCommand('frobnicate'))).toBeUndefined();
    expect(USAGE.inviteLink).toBe('/chatbees-users invite link [for 3d] [uses 20]');
  });

  it('helps AccountAdmins with every operation that has a line, and others with theirs only', () => {
    const admin = help('AccountAdmin').text;
    const user = help('AccountUser').text;
    for (const operation of OPERATIONS.filter((o) => o.help)) {
      expect(admin.includes(`\`${operation.usage}\` — ${operation.help}`), operation.id).toBe(!operation.notForAdmins);
      expect(user.includes(`\`${operation.usage}\``), operation.id).toBe(
        operation.who === 'everyone' && operation.id !== 'console.open',
      );
    }
    expect(unknownCommand('x', 'AccountUser').text).toContain('Try: request, whoami, help —');
    expect(unknownCommand('x', 'AccountAdmin').text).toContain(
      'Try: invite, invites, revoke, list, find, role, remove, audit, export, requests, whoami —',
    );
  });
});
