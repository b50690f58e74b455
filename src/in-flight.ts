/**
 * Work this process has started and not finished: HTTP requests, and the work Slack
 * listeners do after their ack (DMs, modal updates). A graceful stop waits for it.
 */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly waiters = new Set<() => void>();

  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const done = () => {
      this.pending.delete(work);
      if (this.pending.size === 0) for (const wake of this.waiters) wake();
    };
    work.then(done, done);
    return work;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves true once nothing is in flight, or false when `ms` passed first. */
  drain(ms: number): Promise<boolean> {
    if (this.pending.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, ms);
      this.waiters.add(wake);
    });
  }
}
