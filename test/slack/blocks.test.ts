// Block Kit builders: user text is escaped, and shortened before escaping so that no escape
// (&amp; &lt; &gt;) is cut in half.
import { describe, expect, it } from 'vitest';
import type { Account, Member } from '../../src/services/types.js';
import { consoleView } from '../../src/slack/blocks/console.js';
import { accountName } from '../../src/slack/blocks/messages.js';

const account: Account = {
  id: 1,
  slackTeamId: 'T0ACME',
  slackEnterpriseId: null,
  isEnterpriseInstall: false,
  name: '<&>'.repeat(40),
};

function member(slackUserId: string, role: Member['role']): Member {
  return {
    id: 1,
    accountId: 1,
    slackUserId,
    email: null,
    displayName: null,
    role,
    status: 'active',
    registeredAt: new Date('2026-11-01T00:00:00Z'),
    invitedBy: null,
    inviteId: null,
    removedAt: null,
    removedBy: null,
    slackDeactivatedAt: null,
  };
}

/** Whatever is left after removing whole escapes must hold no & at all. */
const brokenEscape = (text: string) => /&/.test(text.replace(/&(amp|lt|gt);/g, ''));

describe('account names in blocks', () => {
  it('shortens a name before escaping it', () => {
    const shown = accountName(account, 60);
    expect(brokenEscape(shown)).toBe(false);
    expect(shown).not.toMatch(/[<>]/);
    expect(shown.endsWith('…')).toBe(true);
  });

  it('keeps every escape whole in the Remove confirm text, within Slack’s 300 characters', () => {
    const viewer = member('UADMIN1', 'AccountAdmin');
    const view = consoleView({
      account,
      viewer,
      page: { members: [viewer, member('UBOB001', 'AccountUser')], total: 2, page: 1, next: null, previous: null },
      invites: [],
      shown: {},
    });
    const confirms = JSON.stringify(view.blocks)
      .match(/"confirm":\{"title":\{[^}]*\},"text":\{"type":"mrkdwn","text":"[^"]*"/g)
      ?.map((c) => JSON.parse(`${c.slice(c.lastIndexOf('"text":"') + 7)}`) as string);
    expect(confirms?.length).toBeGreaterThan(0);
    for (const text of confirms ?? []) {
      expect(brokenEscape(text)).toBe(false);
      expect(text.length).toBeLessThanOrEqual(300);
    }
  });
});
