// Bolt's InstallationStore over the encrypted vault: the OAuth flow of the multi-workspace
// mode stores each workspace's (or org's) tokens here.
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { InstallationVault } from '../services/installations.js';

/** No installation for the workspace or org a request came from: uninstalled, or never installed. */
export class NotInstalled extends Error {
  constructor() {
    super('the app is not installed in this workspace');
    this.name = 'NotInstalled';
  }
}

/**
 * The error at the bottom of a chain of wrappers: Bolt and its OAuth package each wrap what
 * the InstallationStore threw (in `original`, or `cause`).
 */
export function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const next =
      (current as { original?: unknown; cause?: unknown } | null)?.original ??
      (current as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null || next === current) break;
    current = next;
  }
  return current;
}

export function installationStore(vault: InstallationVault): InstallationStore {
  const keyOf = (query: { teamId?: string; enterpriseId?: string; isEnterpriseInstall?: boolean }) => ({
    teamId: query.teamId ?? null,
    enterpriseId: query.enterpriseId ?? null,
    isEnterpriseInstall: query.isEnterpriseInstall === true,
  });
  return {
    async storeInstallation(installation) {
      await vault.save(
        keyOf({
          teamId: installation.team?.id,
          enterpriseId: installation.enterprise?.id,
          isEnterpriseInstall: installation.isEnterpriseInstall,
        }),
        installation,
      );
    },
    async fetchInstallation(query: InstallationQuery<boolean>) {
      const found = await vault.load(keyOf(query));
      if (!found) throw new NotInstalled();
      return found as Installation<'v1' | 'v2', boolean>;
    },
    async deleteInstallation(query: InstallationQuery<boolean>) {
      await vault.remove(keyOf(query));
    },
  };
}
