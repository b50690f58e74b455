// Every command, button, form and event reaches its handler through one global middleware,
// the last one, that looks the handler up by what the request is. Bolt itself runs each
// registered listener's matchers (a copy of the request's arguments for each) for every request:
// with ten listeners that was about a quarter of a `help`'s CPU (measured with --cpu-prof;
// `help` went from 0.26 to 0.30 of bare Bolt's requests a second with the listeners gone).
// Handlers keep the argument types of Bolt's own listeners.
import type {
  AllMiddlewareArgs,
  AnyMiddlewareArgs,
  BlockAction,
  Middleware,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlackViewAction,
  SlackViewMiddlewareArgs,
} from '@slack/bolt';

type Handler<A> = (args: A & AllMiddlewareArgs) => Promise<void>;
type Any = Handler<AnyMiddlewareArgs>;

interface RequestShape {
  type?: string;
  command?: string;
  view?: { callback_id?: string };
  event?: { type?: string };
}

/** Where the handlers of the Slack surface register: commands, buttons, forms and events. */
export class Router {
  private readonly commands = new Map<string, Any>();
  private readonly forms = new Map<string, Any>();
  private readonly events = new Map<string, Any>();
  private buttons?: Any;

  command(name: string, handler: Handler<SlackCommandMiddlewareArgs>): void {
    this.add(this.commands, name, handler as Any);
  }

  /** The one handler of every button press (it picks its work by action_id). */
  blockActions<A extends BlockAction = BlockAction>(handler: Handler<SlackActionMiddlewareArgs<A>>): void {
    if (this.buttons) throw new Error('block_actions already has a handler');
    this.buttons = handler as Any;
  }

  /** A modal's submission (not its closing), by the view's callback_id. */
  view<V extends SlackViewAction = SlackViewAction>(callbackId: string, handler: Handler<SlackViewMiddlewareArgs<V>>) {
    this.add(this.forms, callbackId, handler as Any);
  }

  event<E extends string>(type: E, handler: Handler<SlackEventMiddlewareArgs<E>>): void {
    this.add(this.events, type, handler as Any);
  }

  private add(map: Map<string, Any>, key: string, handler: Any): void {
    if (map.has(key)) throw new Error(`${key} already has a handler`);
    map.set(key, handler);
  }

  /** The handler for a request, if any. */
  find(body: RequestShape): Any | undefined {
    if (body.command) return this.commands.get(body.command);
    switch (body.type) {
      case 'block_actions':
        return this.buttons;
      case 'view_submission':
        return this.forms.get(body.view?.callback_id ?? '');
      case 'event_callback':
        return this.events.get(body.event?.type ?? '');
      default:
        return undefined;
    }
  }

  /** The last global middleware: runs the request's handler; what has none goes on to Bolt. */
  middleware(): Middleware<AnyMiddlewareArgs> {
    return async (args) => {
      const handler = this.find(args.body as RequestShape);
      if (!handler) return args.next();
      await handler(args as AnyMiddlewareArgs & AllMiddlewareArgs);
    };
  }
}
