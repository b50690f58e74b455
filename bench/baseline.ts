// The floor: a bare Bolt app of the same version whose only listener acks the command.
import { App, HTTPReceiver } from '@slack/bolt';

const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? '' });
// botId and botUserId given: Bolt makes no auth.test call.
const app = new App({ receiver, token: 'xoxb-baseline', botId: 'B0', botUserId: 'U0', convoStore: false });
app.command('/chatbees-users', async ({ ack }) => {
  await ack();
});
await app.start(Number(process.env.PORT));
console.log('baseline ready');
