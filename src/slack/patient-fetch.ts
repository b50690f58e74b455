// Slack's answer to "too many requests" is 429 with Retry-After. A short wait is worth it (the
// admin gets the DM after all); a long one is not: the Web API client would pause every call
// of the process meanwhile. So: wait out short Retry-Afters here, a few times, and hand a long
// one back as a 429, which the client (with rejectRateLimitedCalls) turns into an error at once.

export interface PatienceOptions {
  /** The longest Retry-After worth waiting for. */
  maxWaitMs: number;
  /** How many 429s in a row to wait out before giving up. */
  attempts: number;
}

export const DEFAULT_PATIENCE: PatienceOptions = { maxWaitMs: 3_000, attempts: 2 };

function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export function patientFetch(base: typeof fetch = fetch, options: PatienceOptions = DEFAULT_PATIENCE): typeof fetch {
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const response = await base(input, init);
      if (response.status !== 429 || attempt >= options.attempts) return response;
      const wait = retryAfterMs(response);
      if (wait === undefined || wait > options.maxWaitMs) return response;
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
}
