// Real-browser tests: Debian's Chromium (never a downloaded build), driven by playwright-core.
// Without Chromium a plain `npm test` skips them and says so in one line; with CI=true a missing
// Chromium fails the run instead. CHROMIUM_PATH names another binary (or a missing one, to try
// the skip).
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
  chromium as playwright,
  type Response,
} from 'playwright-core';
import { describe } from 'vitest';

/** Flags for a closed network: no background calls to hosts it refuses, no GPU, no sandbox (root). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const HOW_TO_RUN =
  'install it with `apt-get install chromium` (or run bash .ci/run), or point CHROMIUM_PATH at a Chromium binary';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `command -v chromium`, or CHROMIUM_PATH when set. */
function findChromium(): string | undefined {
  const override = process.env.CHROMIUM_PATH;
  if (override) return executable(override) ? override : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'chromium');
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

const inCi = /^(true|1)$/i.test(process.env.CI ?? '');

/** The Chromium binary, or undefined when this machine has none (never in CI: that throws). */
export const chromium: string | undefined = findChromium();

if (!chromium) {
  if (inCi) {
    throw new Error(
      `CI=true but Chromium was not found (${process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH}` : 'no `chromium` on PATH'}): the browser tests cannot be skipped in CI; ${HOW_TO_RUN}`,
    );
  }
  process.stderr.write(`browser tests skipped: Chromium not found; ${HOW_TO_RUN}\n`);
}

/** `describe`, skipped when there is no Chromium (outside CI). */
export const browserSuite = describe.skipIf(!chromium);

export function launchChromium(): Promise<Browser> {
  if (!chromium) throw new Error(`Chromium not found; ${HOW_TO_RUN}`);
  return playwright.launch({ executablePath: chromium, headless: true, args: CHROMIUM_ARGS, timeout: 20_000 });
}

/** A page in a fresh context (its own cookies) that keeps what went wrong in it. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and warnings (CSP violations among them) and uncaught page errors, in order. */
  problems: string[];
  /** The problems not yet returned by an earlier call: to assert on each step, and once at the end. */
  newProblems(): string[];
  /** The HTTP status of the document shown (after redirects). */
  status(): number | undefined;
  /** Runs `action` (a click, a goto) and waits for the next document to load, or for a problem. */
  follow(action: () => Promise<unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function openPage(
  browser: Browser,
  options: BrowserContextOptions & { timeoutMs?: number } = {},
): Promise<WatchedPage> {
  const { timeoutMs = 10_000, ...contextOptions } = options;
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  page.setDefaultNavigationTimeout(timeoutMs);
  const problems: string[] = [];
  let reported = 0;
  let wakeOnProblem: (() => void) | undefined;
  const record = (problem: string) => {
    // Long tokens (registration links, codes) cut short: the messages stay readable.
    problems.push(problem.replace(/[\w-]{12}[\w.-]{28,}/g, (long) => `${long.slice(0, 12)}…`));
    wakeOnProblem?.();
  };
  let documentStatus: number | undefined;
  let documentUrl: string | undefined;
  page.on('response', (response: Response) => {
    const request = response.request();
    const redirect = response.status() >= 300 && response.status() < 400;
    if (request.isNavigationRequest() && request.frame() === page.mainFrame() && !redirect) {
      documentStatus = response.status();
      documentUrl = response.url();
    }
  });
  page.on('console', (message) => {
    const type = message.type();
    if (type !== 'error' && type !== 'warning') return;
    const where = message.location().url;
    // Chromium logs a document's own error status (a 410 page) as a console error; the test
    // checks that status itself. Any other failed load is a problem.
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text());
    if (failed && where === documentUrl && Number(failed[1]) === documentStatus) return;
    record(
      `console ${type} on ${page.url()}${where && where !== page.url() ? ` (from ${where})` : ''}: ${message.text()}`,
    );
  });
  page.on('pageerror', (error) => record(`page error on ${page.url()}: ${error.message}`));
  return {
    page,
    context,
    problems,
    newProblems() {
      const fresh = problems.slice(reported);
      reported = problems.length;
      return fresh;
    },
    status: () => documentStatus,
    async follow(action) {
      const loaded = page.waitForEvent('load', { timeout: timeoutMs }).then(
        () => undefined,
        (err: unknown) => err,
      );
      const problem = new Promise<undefined>((resolve) => {
        wakeOnProblem = () => resolve(undefined);
      });
      const before = problems.length;
      try {
        await action();
        // A problem (a blocked form, a script error) usually means no page comes: stop waiting
        // then, a moment later (a load may still be on its way), so the test fails on the problem.
        const err = await Promise.race([
          loaded,
          problem.then(() => Promise.race([loaded, new Promise((r) => setTimeout(r, 500))])),
        ]);
        if (err && problems.length === before) throw err;
      } finally {
        wakeOnProblem = undefined;
      }
    },
    close: () => context.close(),
  };
}
