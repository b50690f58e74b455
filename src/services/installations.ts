// Where the Slack installations of the multi-workspace mode are kept: encrypted at rest with a
// key from the environment (AES-256-GCM, a fresh IV per write, the install key as associated
// data so a row cannot be moved to another workspace), one per workspace or Enterprise Grid org.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ACTOR_COLUMNS, type ActorContext, actorContextOf, ensureAccount } from './accounts.js';
import { recordAudit } from './audit-log.js';
import { adminRefusal, countUsableAdmins, findMember, lockAccount } from './checks.js';
import { coalescedRows, type Db, inTransaction } from './db.js';
import { SLACK_ACTOR } from './members.js';
import { grantAdmin } from './membership.js';
import type { Account, Profile } from './types.js';

export interface InstallationKey {
  teamId?: string | null;
  enterpriseId?: string | null;
  isEnterpriseInstall: boolean;
}

/** The key of a row: the org for an org-wide install, else the workspace. */
export function installKey(key: InstallationKey): string {
  if (key.isEnterpriseInstall) {
    if (!key.enterpriseId) throw new Error('an org-wide installation needs an enterprise id');
    return `E:${key.enterpriseId}`;
  }
  if (!key.teamId) throw new Error('a workspace installation needs a team id');
  return `T:${key.teamId}`;
}

export class InstallationUnreadable extends Error {
  constructor() {
    super('a stored Slack installation could not be decrypted: was the encryption key changed?');
    this.name = 'InstallationUnreadable';
  }
}

const VERSION = 'v1';

/**
 * Installations with who asks, for each (install key, workspace's or org's id, person, org-wide?)
 * asked for: one row per ask, in order (`n`); `sealed` is null where nothing is installed.
 */
const INSTALLATIONS_WITH_ACTORS = `SELECT asked.n, i.sealed, ${ACTOR_COLUMNS}
  FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])
    WITH ORDINALITY AS asked(install_key, owner_id, slack_user_id, org, n)
  LEFT JOIN installations i ON i.install_key = asked.install_key
  LEFT JOIN LATERAL (
    (SELECT * FROM accounts WHERE NOT asked.org AND slack_team_id = asked.owner_id AND NOT is_enterprise_install LIMIT 1)
    UNION ALL
    (SELECT * FROM accounts WHERE asked.org AND slack_enterprise_id = asked.owner_id AND is_enterprise_install LIMIT 1)
  ) a ON i.sealed IS NOT NULL
  LEFT JOIN members m ON m.account_id = a.id AND m.slack_user_id = asked.slack_user_id
  ORDER BY asked.n`;

interface Asked {
  installKey: string;
  ownerId: string | null;
  slackUserId: string | null;
  org: boolean;
}

/** How many decrypted installations a process keeps (one per installed workspace in use). */
const OPENED_KEPT = 1000;

export class InstallationVault {
  private readonly key: Buffer;
  /** The reads of the requests of one turn of the event loop, sent as one statement (never kept). */
  private readonly read: (asked: Asked) => Promise<Record<string, unknown> | undefined>;

  constructor(private readonly deps: { knex: Knex; encryptionKey: string; now?: () => Date }) {
    if (deps.encryptionKey.length < 32)
      throw new Error('the installation encryption key must be at least 32 characters');
    this.key = createHash('sha256').update(`chatbees-users installations:${deps.encryptionKey}`).digest();
    this.read = coalescedRows(deps.knex, 'installations_with_actors', INSTALLATIONS_WITH_ACTORS, (keys: Asked[]) => [
      keys.map((k) => k.installKey),
      keys.map((k) => k.ownerId),
      keys.map((k) => k.slackUserId),
      keys.map((k) => k.org),
    ]);
  }

  private seal(installKeyText: string, data: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(installKeyText));
    const body = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /**
   * Decrypted installations by what was stored (the install key and the sealed text, whose IV is
   * fresh on every write): every request of the multi-workspace mode reads its installation, and
   * decrypting it was 7 % of a `help`'s CPU. The read itself still happens on every request, so
   * an uninstall or a re-install takes effect at once; a new sealed text is a new entry.
   */
  private readonly opened = new Map<string, string>();

  private open(installKeyText: string, sealed: string): unknown {
    const cacheKey = `${installKeyText}\n${sealed}`;
    let text = this.opened.get(cacheKey);
    if (text === undefined) {
      text = this.decrypt(installKeyText, sealed);
      if (this.opened.size >= OPENED_KEPT) this.opened.delete(this.opened.keys().next().value as string);
      this.opened.set(cacheKey, text);
    }
    // Parsed afresh: Bolt's token rotation changes the object it is given.
    return JSON.parse(text);
  }

  private decrypt(installKeyText: string, sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || !body) throw new InstallationUnreadable();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(installKeyText));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      JSON.parse(text); // a text that is not JSON is unreadable, as before
      return text;
    } catch {
      throw new InstallationUnreadable();
    }
  }

  /** Stores (or replaces, on a re-install) a workspace's or org's installation. */
  async save(key: InstallationKey, data: unknown, db: Db = this.deps.knex): Promise<void> {
    const k = installKey(key);
    const now = this.deps.now?.() ?? new Date();
    await db('installations')
      .insert({
        install_key: k,
        slack_team_id: key.teamId ?? null,
        slack_enterprise_id: key.enterpriseId ?? null,
        is_enterprise_install: key.isEnterpriseInstall,
        sealed: this.seal(k, data),
        installed_at: now,
        updated_at: now,
      })
      .onConflict('install_key')
      .merge(['sealed', 'slack_team_id', 'slack_enterprise_id', 'updated_at']);
  }

  /** The installation for a workspace or org; undefined when there is none (uninstalled). */
  async load(key: InstallationKey): Promise<unknown | undefined> {
    return (await this.loadWithActor(key)).installation;
  }

  /**
   * The installation and, in the same read, who asks (`slackUserId`): their account (the
   * workspace's, or the org's for an org-wide install) and membership. Every request of the
   * multi-workspace mode reads both; one round trip instead of three, shared with the other
   * requests of the same turn of the event loop.
   */
  async loadWithActor(
    key: InstallationKey,
    slackUserId?: string,
  ): Promise<{ installation: unknown | undefined; actor: ActorContext | undefined }> {
    const k = installKey(key);
    const row = await this.read({
      installKey: k,
      ownerId: (key.isEnterpriseInstall ? key.enterpriseId : key.teamId) ?? null,
      slackUserId: slackUserId ?? null,
      org: key.isEnterpriseInstall,
    });
    if (!row?.sealed) return { installation: undefined, actor: undefined };
    return { installation: this.open(k, row.sealed as string), actor: actorContextOf(row) };
  }

  /**
   * Forgets the installation and its tokens; accounts and members stay, with their history.
   * With `savedBefore`, only an installation saved before then: a late event does not remove
   * the tokens of an install that came after it.
   */
  async remove(key: InstallationKey, db: Db = this.deps.knex, savedBefore?: Date): Promise<boolean> {
    const query = db('installations').where({ install_key: installKey(key) });
    if (savedBefore) query.andWhere('updated_at', '<', savedBefore);
    const deleted = await query.del();
    return Number(deleted) > 0;
  }
}

/** The installation key of an account: its org's for an org-wide install, else its workspace's. */
export function accountInstallKey(account: Account): InstallationKey {
  return {
    teamId: account.slackTeamId,
    enterpriseId: account.slackEnterpriseId,
    isEnterpriseInstall: account.isEnterpriseInstall,
  };
}

/** Whether the app is installed for the account now (multi-workspace mode keeps one row per install). */
export async function isInstalled(db: Db, account: Account): Promise<boolean> {
  const row = await db('installations')
    .where({ install_key: installKey(accountInstallKey(account)) })
    .first('install_key');
  return row !== undefined;
}

/** The account row an installation serves, if there is one yet. */
function accountRow(db: Db, key: InstallationKey): Promise<{ id: number } | undefined> {
  return key.isEnterpriseInstall
    ? db('accounts').where({ slack_enterprise_id: key.enterpriseId, is_enterprise_install: true }).first('id')
    : db('accounts').where({ slack_team_id: key.teamId, is_enterprise_install: false }).first('id');
}

export interface InstalledApp {
  key: InstallationKey;
  /** The workspace's (or org's) name, as Slack gave it. */
  name: string | null;
  /** Who installed the app; null when Slack did not say. */
  installer: ({ slackUserId: string } & Profile) | null;
  /** What to keep, encrypted: the installation with its tokens. */
  data: unknown;
}

/** What installing did for the installer. */
export type InstallerOutcome = 'made_admin' | 'already_admin' | 'not_made_admin';

/** How far Slack's clock and ours may differ when an uninstall's time is compared with an install's. */
const CLOCK_MARGIN_MS = 5_000;

export class InstallationService {
  constructor(private readonly deps: { knex: Knex; vault: InstallationVault; now: () => Date }) {}

  /** Where the tokens are kept: Bolt's InstallationStore reads it on every request. */
  get vault(): InstallationVault {
    return this.deps.vault;
  }

  /**
   * Slack installed the app (or installed it again): in one transaction the tokens are kept, the
   * account of the workspace (or org) is made if new, and the installer becomes its
   * AccountAdmin when it has none who can act: on a first install, and as the way back for an
   * account whose admins were all deactivated in Slack. A re-install never demotes anyone.
   */
  async installed(app: InstalledApp): Promise<{ account: Account; reinstall: boolean; installer: InstallerOutcome }> {
    return inTransaction(this.deps.knex, async (trx) => {
      const at = this.deps.now();
      // The account row is taken first: a second install of the same workspace waits here.
      const { account, created } = await ensureAccount(trx, { ...app.key, name: app.name });
      // Installed before (by this process or another, even if uninstalled since).
      const reinstall = !created;
      await this.deps.vault.save(app.key, app.data, trx);
      await lockAccount(trx, account.id);
      let installer: InstallerOutcome = 'not_made_admin';
      if (app.installer) {
        if ((await countUsableAdmins(trx, account.id)) === 0) {
          await grantAdmin(trx, account.id, app.installer, {
            actor: app.installer.slackUserId,
            source: 'slack_install',
            at,
          });
          installer = 'made_admin';
        } else {
          const member = await findMember(trx, account.id, app.installer.slackUserId);
          if (member?.status === 'active' && !adminRefusal(member.role)) installer = 'already_admin';
        }
      }
      await recordAudit(trx, {
        accountId: account.id,
        actor: app.installer?.slackUserId ?? SLACK_ACTOR,
        action: 'app.installed',
        source: 'slack_install',
        after: { reinstall },
        at,
      });
      return { account, reinstall, installer };
    });
  }

  /**
   * The app was uninstalled, or its bot token revoked: the tokens are forgotten; the account, its
   * members and their history stay (a new install picks them up again). Safe to repeat.
   * `eventTime` is when Slack says it happened (whole seconds): an installation saved a few
   * seconds after that (clocks differ a little) is a later install, and is kept.
   */
  async uninstalled(
    key: InstallationKey,
    why: 'app_uninstalled' | 'tokens_revoked',
    eventTime?: Date,
  ): Promise<{ removed: boolean }> {
    return inTransaction(this.deps.knex, async (trx) => {
      const savedBefore = eventTime ? new Date(eventTime.getTime() + CLOCK_MARGIN_MS) : undefined;
      const removed = await this.deps.vault.remove(key, trx, savedBefore);
      if (!removed) return { removed };
      const account = await accountRow(trx, key);
      if (account) {
        await recordAudit(trx, {
          accountId: account.id as number,
          actor: SLACK_ACTOR,
          action: 'app.uninstalled',
          source: 'slack_event',
          after: { event: why },
          at: this.deps.now(),
        });
      }
      return { removed };
    });
  }

  /** The bot token of the account's installation; undefined while the app is not installed there. */
  async botToken(account: Account): Promise<string | undefined> {
    const found = (await this.deps.vault.load(accountInstallKey(account))) as { bot?: { token?: string } } | undefined;
    return found?.bot?.token;
  }
}
