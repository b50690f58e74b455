// Bolt's InstallationStore over the encrypted vault: the OAuth flow of the multi-workspace
// mode stores each workspace's (or org's) tokens here.
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { InstallationVault } from '../services/installations.js';

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
      if (!found) throw new Error('no installation for this workspace');
      return found as Installation<'v1' | 'v2', boolean>;
    },
    async deleteInstallation(query: InstallationQuery<boolean>) {
      await vault.remove(keyOf(query));
    },
  };
}
