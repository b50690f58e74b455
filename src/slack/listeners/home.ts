// The App Home tab, published each time someone opens it: the role is read afresh each time.
import { isAdmin } from '../../services/types.js';
import { type HomeData, homeView } from '../blocks/home.js';
import { actorFrom, logFailure, type SlackDeps, serviceActor } from '../context.js';
import type { Router } from '../router.js';
import { accountWarning, asking } from '../who-to-ask.js';

/** The Home tab has no ack to beat; a database that does not answer in this time is reported. */
const HOME_DEADLINE_MS = 5_000;

export function register(router: Router, deps: SlackDeps): void {
  const { services, logger } = deps;
  router.event('app_home_opened', async ({ event, client, context }) => {
    if (event.tab !== 'home') return;
    const actor = actorFrom(context);
    try {
      let summary: HomeData['summary'];
      if (isAdmin(actor.role)) {
        const who = serviceActor(actor, 'app_home');
        const [read, allowance] = await Promise.all([services.members.summary(who), services.invites.allowance(who)]);
        if (read.ok)
          summary = {
            members: read.members,
            pendingInvites: read.pendingInvites,
            openRequests: read.openRequests,
            allowance,
          };
      }
      const toAsk = await asking(deps, actor, HOME_DEADLINE_MS);
      // The admin part shows only when the service agreed the person is an AccountAdmin.
      await client.views.publish({
        user_id: event.user,
        view: homeView({
          account: actor.account,
          member: actor.member,
          asking: toAsk,
          summary,
          warning: accountWarning(deps, actor),
        }),
      });
    } catch (err) {
      logFailure(logger, context, err, 'home tab not published');
    }
  });
}
