// Multi-workspace mode: Slack says the app was uninstalled, or its bot token revoked. The
// workspace's (or org's) tokens are forgotten; its account and members stay, with their history.
import { logFailure, type SlackDeps } from '../context.js';
import type { Router } from '../router.js';

export function register(router: Router, deps: SlackDeps): void {
  const installations = deps.services.installations;
  if (!installations) return;
  const { logger } = deps;

  const forget = async (
    context: Record<string, unknown>,
    body: { event_time?: number },
    why: 'app_uninstalled' | 'tokens_revoked',
  ) => {
    const key = {
      teamId: (context.teamId as string | undefined) ?? null,
      enterpriseId: (context.enterpriseId as string | undefined) ?? null,
      isEnterpriseInstall: context.isEnterpriseInstall === true,
    };
    try {
      // Slack redelivers an event it got no answer for, maybe after the app was installed again.
      const eventTime = typeof body.event_time === 'number' ? new Date(body.event_time * 1000) : undefined;
      const { removed } = await installations.uninstalled(key, why, eventTime);
      logger.info({ team: key.teamId, enterprise: key.enterpriseId, why, removed }, 'installation removed');
    } catch (err) {
      logFailure(logger, context, err, 'installation not removed', {
        team: key.teamId,
        enterprise: key.enterpriseId,
        why,
      });
    }
  };

  router.event('app_uninstalled', async ({ context, body }) => forget(context, body, 'app_uninstalled'));

  // Revoked user tokens (Sign in with Slack keeps none) leave the installation as it is.
  router.event('tokens_revoked', async ({ event, context, body }) => {
    if ((event.tokens.bot ?? []).length === 0) return;
    await forget(context, body, 'tokens_revoked');
  });
}
