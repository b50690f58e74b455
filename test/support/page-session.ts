// A browser's cookie jar over fetch, enough for one site: for page flows (registration links,
// Sign in with Slack) where a real browser is not the point. The real one is in browser.test.ts.
import type { SlackStandIn } from './slack-stand-in.js';

export interface PageAnswer {
  status: number;
  headers: Headers;
  location: string;
  html: string;
}

/** The path and query of a URL (the bot's own pages, whatever PUBLIC_URL says). */
export function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

export class PageSession {
  constructor(
    private readonly base: string,
    private readonly options: { headers?: Record<string, string> } = {},
    private readonly jar = new Map<string, string>(),
  ) {}

  /** The same browser (its cookies) on another server: another process behind one address. */
  on(base: string): PageSession {
    return new PageSession(base, this.options, this.jar);
  }

  /** Another browser holding a copy of this one's cookies as they are now (a captured session). */
  copy(base = this.base): PageSession {
    return new PageSession(base, this.options, new Map(this.jar));
  }

  async go(path: string, init: RequestInit = {}): Promise<PageAnswer> {
    const res = await fetch(`${this.base}${path}`, {
      redirect: 'manual',
      ...init,
      headers: {
        ...this.options.headers,
        ...(init.headers as Record<string, string>),
        Cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (attributes.some((a) => a.trim() === 'Max-Age=0')) this.jar.delete(name as string);
      else this.jar.set(name as string, value.join('='));
    }
    return {
      status: res.status,
      headers: res.headers,
      location: res.headers.get('location') ?? '',
      html: await res.text(),
    };
  }

  /** Drops the cookies whose name contains `part` (as if they expired). */
  forget(part: string): void {
    for (const name of [...this.jar.keys()]) if (name.includes(part)) this.jar.delete(name);
  }

  /** Posts the page's form, with its CSRF value (and `fields`). */
  async submit(path: string, html: string, fields: Record<string, string> = {}): Promise<PageAnswer> {
    const csrf = /name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';
    return this.go(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
  }

  /** Follows the page's "Continue with Slack" link (to Slack: a 303 to its authorize page). */
  async continueWithSlack(html: string): Promise<PageAnswer> {
    const href = /<a (?:class="button" )?href="([^"]*)">Continue with Slack<\/a>/.exec(html)?.[1];
    if (!href) throw new Error('no "Continue with Slack" link on the page');
    return this.go(href.replace(/&amp;/g, '&'));
  }

  /**
   * Opens a registration link, signs in with Slack (the stand-in's consent page) as `who`, and
   * comes back: returns the page the link then shows.
   */
  async signInAs(path: string, standIn: SlackStandIn, who: Parameters<SlackStandIn['signIn']>[1]): Promise<PageAnswer> {
    const toSlack = await this.continueWithSlack((await this.go(path)).html);
    if (toSlack.status !== 303) throw new Error(`"Continue with Slack" answered ${toSlack.status}`);
    const back = await this.go(pathOf(await standIn.signIn(toSlack.location, who)));
    if (back.status !== 303) throw new Error(`the way back from Slack answered ${back.status}`);
    return this.go(path);
  }
}
