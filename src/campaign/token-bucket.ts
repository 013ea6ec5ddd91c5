/**
 * The most calls a trunk's bucket holds at once: a fifth of a second's worth, at least one. The dialer hands the same
 * figure to the store's shared bucket, so both buckets agree and the multi-node test can bound the pace from it.
 */
export function trunkBurst(ratePerSec: number): number {
  return Math.max(1, ratePerSec * 0.2);
}

/**
 * Calls per second on a trunk. Tokens refill continuously at `rate` per second up to a burst of a fifth of a second's
 * worth (at least one), so calls leave evenly instead of in per-second clumps that trip carriers' CPS limits.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private rate: number;

  constructor(ratePerSec: number, now: number) {
    this.rate = ratePerSec;
    this.tokens = 1;
    this.last = now;
  }

  private get burst(): number {
    return trunkBurst(this.rate);
  }

  setRate(ratePerSec: number, now: number): void {
    if (ratePerSec === this.rate) return;
    this.refill(now);
    this.rate = ratePerSec;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  canTake(now: number): boolean {
    return this.available(now) >= 1;
  }

  /** Empties the bucket: the shared budget this one stands in for is spent, so the next take waits for a refill. */
  spend(now: number): void {
    this.refill(now);
    this.tokens = 0;
  }

  take(now: number): boolean {
    if (!this.canTake(now)) return false;
    this.tokens -= 1;
    return true;
  }
}
