// Bolt's InstallationStore over the encrypted vault: the OAuth flow of the multi-workspace
// mode stores each workspace's (or org's) tokens here.
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import { isDatabaseUnavailable } from '../db/errors.js';
import { type InstallationKey, type InstallationVault, installKey } from '../services/installations.js';

/** No installation for the workspace or org a request came from: uninstalled, or never installed. */
export class NotInstalled extends Error {
  constructor() {
    super('the app is not installed in this workspace');
    this.name = 'NotInstalled';
  }
}

/** What made Bolt's authorization of a request fail. */
export type AuthorizationFailure =
  | { kind: 'not_installed' }
  | { kind: 'unavailable'; error: Error }
  | { kind: 'error'; error: unknown };

/**
 * Bolt and its OAuth package each wrap what the InstallationStore threw (in `original`, or
 * `cause`); the first error of the chain that says what happened decides (a database driver's
 * timeout wraps a pool error that, alone, says nothing).
 */
export function authorizationFailure(error: unknown): AuthorizationFailure {
  let current = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof NotInstalled) return { kind: 'not_installed' };
    if (isDatabaseUnavailable(current)) return { kind: 'unavailable', error: current as Error };
    const wrapper = current as { original?: unknown; cause?: unknown };
    const next = wrapper.original ?? wrapper.cause;
    if (next === undefined || next === null || next === current) break;
    current = next;
  }
  return { kind: 'error', error: current };
}

/**
 * Who asks, as the installation lookup read them with the installation (multi-workspace mode),
 * for the permission check of the same request: by installation and person, with when it was
 * read. Bolt gives the lookup nothing of the request to leave it in, so it waits here; a check
 * takes only a read made after its request arrived (as fresh as reading it then), else reads
 * again. Nothing depends on finding it.
 */
const actorReads = new Map<string, { actor: unknown; at: number }>();
const MAX_ACTOR_READS = 1_000;

function actorReadKey(key: InstallationKey, slackUserId: string): string {
  return `${installKey(key)}|${slackUserId}`;
}

function keepActorRead(key: InstallationKey, slackUserId: string, actor: unknown): void {
  if (actorReads.size >= MAX_ACTOR_READS) actorReads.clear();
  actorReads.set(actorReadKey(key, slackUserId), { actor, at: performance.now() });
}

/** Who asks, if the installation lookup read them for this person after `since` (performance.now()). */
export function actorReadSince(key: InstallationKey, slackUserId: string, since: number): { actor: unknown } | null {
  let read: { actor: unknown; at: number } | undefined;
  try {
    read = actorReads.get(actorReadKey(key, slackUserId));
  } catch {
    return null; // no team (or org) id: nothing was read for it
  }
  return read && read.at >= since ? { actor: read.actor } : null;
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
      // A payload that names no workspace (or no org, for an org-wide install) has none.
      if (query.isEnterpriseInstall ? !query.enterpriseId : !query.teamId) throw new NotInstalled();
      const key = keyOf(query);
      const { installation, actor } = await vault.loadWithActor(key, query.userId);
      if (!installation) throw new NotInstalled();
      if (query.userId) keepActorRead(key, query.userId, actor);
      return installation as Installation<'v1' | 'v2', boolean>;
    },
    async deleteInstallation(query: InstallationQuery<boolean>) {
      await vault.remove(keyOf(query));
    },
  };
}
