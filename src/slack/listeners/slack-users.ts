// Slack's own changes to people: a deactivation removes the member (the last AccountAdmin able
// to act excepted); someone joining the workspace is told how to ask for access.
import { belongsTo } from '../../services/people.js';
import type { Account } from '../../services/types.js';
import * as dm from '../blocks/dm.js';
import { logFailure, type SlackDeps } from '../context.js';
import { sendDm } from '../notify.js';
import { personOf, type SlackUser } from '../people.js';
import type { Router } from '../router.js';
import { ADMINS_TO_ASK } from '../who-to-ask.js';

const ADMINS_TOLD = 20;

export function register(router: Router, deps: SlackDeps): void {
  const { services, logger } = deps;

  /** The account the event's person belongs to, if this app serves it. */
  const accountOf = async (context: Record<string, unknown>, user: SlackUser): Promise<Account | undefined> => {
    const account = await deps.accountFor(
      (context.teamId as string | undefined) ?? user.team_id,
      context.enterpriseId as string | undefined,
      context.isEnterpriseInstall === true,
    );
    return account && user.id && belongsTo(account, personOf({ ...user, id: user.id })) ? account : undefined;
  };

  router.event('user_change', async ({ event, context, client }) => {
    const user = event.user as SlackUser;
    if (!user.id) return;
    try {
      const account = await accountOf(context, user);
      if (!account) return;
      if (!user.deleted) {
        // Back in Slack: a kept admin is no longer marked; nobody removed is registered again.
        const { unmarked } = await services.members.reactivatedInSlack(account.id, user.id);
        if (unmarked) logger.info({ member: user.id }, 'AccountAdmin reactivated in Slack');
        return;
      }
      const { outcome } = await services.members.deactivatedInSlack(account.id, user.id);
      if (outcome === 'removed') logger.info({ member: user.id }, 'member removed: deactivated in Slack');
      if (outcome !== 'kept_last_admin') return;
      // For whoever runs the app: only they can name a new admin (INITIAL_ADMINS, or installing the
      // app again in multi-workspace mode).
      logger.error({ member: user.id }, 'the last AccountAdmin who could act was deactivated in Slack: kept');
      // Every admin left is deactivated in Slack too; Slack may refuse these DMs, and says so.
      const admins = await services.members.activeAdmins(account.id, ADMINS_TOLD, { includeDeactivated: true });
      for (const admin of admins)
        await sendDm(client, logger, admin, dm.lastAdminDeactivated(account, user.id, deps.newAdminHint));
    } catch (err) {
      logFailure(logger, context, err, 'Slack deactivation not applied', { member: user.id });
    }
  });

  router.event('team_join', async ({ event, context, client, body }) => {
    const user = event.user as SlackUser;
    if (!user.id || user.deleted || user.is_bot || user.is_app_user) return;
    try {
      const account = await accountOf(context, user);
      if (!account) return;
      // Slack may deliver an event more than once: welcome once.
      const eventId = (body as { event_id?: string }).event_id;
      if (eventId && !(await services.requests.claim(`event:${account.id}:${eventId}`))) return;
      const admins = await services.members.activeAdmins(account.id, ADMINS_TO_ASK);
      await sendDm(client, logger, user.id, dm.joinedWorkspace(account, admins));
    } catch (err) {
      logFailure(logger, context, err, 'welcome to a new workspace member not sent', { member: user.id });
    }
  });
}
