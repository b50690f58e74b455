// Multi-workspace mode reads who asks with the installation; the permission check of the same
// request takes that read, but never one made before its request arrived (it would be stale).
import { describe, expect, it } from 'vitest';
import type { InstallationVault } from '../../src/services/installations.js';
import { actorReadSince, installationStore } from '../../src/slack/installation-store.js';

const key = { teamId: 'T0READS', enterpriseId: null, isEnterpriseInstall: false };
const query = (userId: string) => ({ teamId: 'T0READS', enterpriseId: undefined, userId, isEnterpriseInstall: false });

function storeReading(actor: { role: string }) {
  const vault = {
    loadWithActor: async () => ({ installation: { team: { id: 'T0READS' } }, actor }),
  } as unknown as InstallationVault;
  return installationStore(vault);
}

describe('who asks, as read with the installation', () => {
  it('is taken by a request that arrived before the read, not by one that arrived after it', async () => {
    const arrivedBefore = performance.now();
    await storeReading({ role: 'AccountAdmin' }).fetchInstallation({
      teamId: 'T0READS',
      enterpriseId: undefined,
      userId: 'UREADER',
      isEnterpriseInstall: false,
    });
    const arrivedAfter = performance.now() + 1;
    expect(actorReadSince(key, 'UREADER', arrivedBefore)).toEqual({ actor: { role: 'AccountAdmin' } });
    expect(actorReadSince(key, 'UREADER', arrivedAfter)).toBeNull();
    // Someone else, or another workspace: nothing was read for them.
    expect(actorReadSince(key, 'UOTHER', arrivedBefore)).toBeNull();
    expect(actorReadSince({ ...key, teamId: 'T0ELSE' }, 'UREADER', arrivedBefore)).toBeNull();
  });

  it('gives the newest read: a demotion read after an earlier request is what a later one sees', async () => {
    const first = performance.now();
    await storeReading({ role: 'AccountAdmin' }).fetchInstallation(query('UDEMOTED'));
    const second = performance.now();
    await storeReading({ role: 'AccountUser' }).fetchInstallation(query('UDEMOTED'));
    expect(actorReadSince(key, 'UDEMOTED', first)).toEqual({ actor: { role: 'AccountUser' } });
    expect(actorReadSince(key, 'UDEMOTED', second)).toEqual({ actor: { role: 'AccountUser' } });
  });
});
