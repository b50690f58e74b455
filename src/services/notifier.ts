// What the domain tells people, free of Slack: the notices an operation sends, and the Notifier
// through which they reach people (src/slack implements it with direct messages).
import type { Account, Invite, Role } from './types.js';

export type Notice =
  /** A personal registration link, to the person it is for. */
  | { kind: 'invitation'; invite: Invite; url: string }
  /** To someone whose role an admin changed; `revokedInvites`: their links that stopped working. */
  | { kind: 'role_changed'; by: string; role: Role; revokedInvites: number }
  /** To someone an admin removed from the account. */
  | { kind: 'removed'; by: string }
  /** To the admin whose link someone used to join. */
  | { kind: 'registered'; member: string }
  /** To someone who just joined the account. */
  | { kind: 'welcome' };

/** Whether a notice arrived; when not, a short, token-free reason. */
export type Delivery = { ok: true } | { ok: false; error: string };

export interface Notifier {
  /** Tells a person of the account's workspace; never throws (a failure is a Delivery). */
  tell(account: Account, slackUserId: string, notice: Notice): Promise<Delivery>;
}

/** For services that tell nobody (tests of rules, tools): every notice "fails" as not sent. */
export const NOBODY: Notifier = {
  async tell() {
    return { ok: false, error: 'no notifier' };
  },
};
