// Block Kit builders: user text is escaped, and shortened before escaping so that no escape
// (&amp; &lt; &gt;) is cut in half.
import { describe, expect, it } from 'vitest';
import type { Account, AuditEntry, Member } from '../../src/services/types.js';
import { consoleView } from '../../src/slack/blocks/console.js';
import { accountName, auditLog } from '../../src/slack/blocks/messages.js';
import { slackDate, slackDay } from '../../src/slack/blocks/text.js';

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
      page: {
        members: [viewer, member('UBOB001', 'AccountUser')],
        total: 2,
        page: 1,
        next: null,
        previous: null,
        filter: null,
        more: false,
        accountTotal: 2,
      },
      invites: [],
      moreInvites: false,
      openRequests: 0,
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

describe('audit log sentences', () => {
  const entry = (actor: string, action: AuditEntry['action'], after: Record<string, unknown> | null): AuditEntry => ({
    id: 1,
    accountId: 1,
    actor,
    action,
    targetSlackUserId: action === 'member.removed' ? 'UBOB001' : null,
    targetInviteId: null,
    before: null,
    after,
    source: action === 'member.removed' ? 'slack_event' : 'slack_install',
    createdAt: new Date('2026-11-01T00:00:00Z'),
  });

  it('says who installed the app, and only that it was installed when Slack did not say who', () => {
    const text = auditLog(account, [
      entry('UADMIN1', 'app.installed', { reinstall: false }),
      entry('Slack', 'app.installed', { reinstall: true }),
      entry('Slack', 'member.removed', null),
    ]).text;
    expect(text).toContain('<@UADMIN1> installed the app in Slack\n');
    expect(text).toContain('The app was installed in Slack again');
    expect(text).not.toContain('Slack (a deactivation) installed');
    expect(text).toContain('Slack (a deactivation) removed <@UBOB001>');
  });
});

describe('dates in messages', () => {
  it("gives Slack the time to show in each reader's zone, and the UTC minute for clients that cannot", () => {
    for (const iso of ['2026-01-05T03:04:59.999Z', '1999-12-31T23:59:00.000Z', '2026-12-02T11:16:11.123Z']) {
      const at = new Date(iso);
      expect(slackDate(at)).toBe(
        `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} at {time}|${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC>`,
      );
    }
    expect(slackDay(new Date('2026-07-08T09:10:00Z'))).toBe('<!date^1783501800^{date_short}|2026-07-08 09:10 UTC>');
  });
});
