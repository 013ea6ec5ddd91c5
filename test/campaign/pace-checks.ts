import { trunkBurst } from '../../src/campaign/index.ts';

/** The most of `sortedMs` (ascending) that fall in any closed window [t, t + windowMs]. */
export function maxInWindow(sortedMs: readonly number[], windowMs: number): number {
  let most = 0;
  let lo = 0;
  for (let hi = 0; hi < sortedMs.length; hi++) {
    while (sortedMs[hi]! - sortedMs[lo]! > windowMs) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

/**
 * The most claims, by claim time, that a trunk's shared token bucket (the store's, at `ratePerSec` with
 * trunkBurst's burst) lets `nodes` node processes make within any window of `windowMs`:
 * - the bucket's own clock is the latest claim time any node handed it, so the takes it granted while that clock was
 *   inside the window number at most burst + rate x window (it never holds more than a burst, then refills at rate);
 * - a take can be granted after the bucket's clock has passed the window's end when its node read its clock earlier
 *   (each claim carries the time its node read just before the claim's transaction). A node's claims run one after
 *   another, so at most one take per node can do so; the bound allows each node a whole burst (at least one).
 * A killed node adds nothing: its takes all returned before it died, and its restart reads the clock afresh.
 * No wall-clock term: a stalled machine can only make the claims fewer.
 */
export function sharedBucketAllows(ratePerSec: number, windowMs: number, nodes: number): number {
  const burst = trunkBurst(ratePerSec);
  return Math.floor(burst + (ratePerSec * windowMs) / 1000) + nodes * Math.floor(burst);
}
