/** Time as the dialer sees it: injectable so windows, caps, retries and pacing are tested without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A clock that moves only when told. `sleep` resolves once `advance` passes its deadline, so a loop driven by it runs
 * as fast as the CPU allows while measuring in simulated time.
 */
export class ManualClock implements Clock {
  private t: number;
  private sleepers: { until: number; resolve: () => void }[] = [];

  constructor(start: number | Date) {
    this.t = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sleepers.push({ until: this.t + Math.max(0, ms), resolve }));
  }

  /** Moves time forward, waking sleepers whose deadline passed (in deadline order). */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      this.sleepers.sort((a, b) => a.until - b.until);
      const next = this.sleepers[0];
      if (!next || next.until > target) break;
      this.sleepers.shift();
      this.t = Math.max(this.t, next.until);
      next.resolve();
      // Let the woken task run before the next one wakes.
      await new Promise<void>((r) => setImmediate(r));
    }
    this.t = target;
  }

  set(at: number | Date): void {
    this.t = typeof at === 'number' ? at : at.getTime();
  }
}
