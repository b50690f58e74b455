// Where the Slack installations of the multi-workspace mode are kept: encrypted at rest with a
// key from the environment (AES-256-GCM, a fresh IV per write, the install key as associated
// data so a row cannot be moved to another workspace), one per workspace or Enterprise Grid org.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

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

export class InstallationVault {
  private readonly key: Buffer;

  constructor(private readonly deps: { knex: Knex; encryptionKey: string; now?: () => Date }) {
    if (deps.encryptionKey.length < 32)
      throw new Error('the installation encryption key must be at least 32 characters');
    this.key = createHash('sha256').update(`chatbees-users installations:${deps.encryptionKey}`).digest();
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

  private open(installKeyText: string, sealed: string): unknown {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || !body) throw new InstallationUnreadable();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(installKeyText));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      return JSON.parse(text);
    } catch {
      throw new InstallationUnreadable();
    }
  }

  /** Stores (or replaces, on a re-install) a workspace's or org's installation. */
  async save(key: InstallationKey, data: unknown): Promise<void> {
    const k = installKey(key);
    const now = this.deps.now?.() ?? new Date();
    await this.deps
      .knex('installations')
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
    const k = installKey(key);
    const row = await this.deps.knex('installations').where({ install_key: k }).first('sealed');
    return row ? this.open(k, row.sealed as string) : undefined;
  }

  /** Forgets the installation and its tokens; accounts and members stay, with their history. */
  async remove(key: InstallationKey): Promise<boolean> {
    const deleted = await this.deps
      .knex('installations')
      .where({ install_key: installKey(key) })
      .del();
    return Number(deleted) > 0;
  }
}
