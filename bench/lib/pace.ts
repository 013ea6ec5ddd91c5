/** How evenly events (originates) kept a target rate, by whole second from the first one. */
export interface PaceFigures {
  events: number;
  achievedPerSec: number;
  perSecondMin: number;
  perSecondMax: number;
  /** Whole seconds whose count was within `tolerance` of the target, of all whole seconds. */
  secondsWithin: number;
  wholeSeconds: number;
}

/** `timesMs` ascending; the last, partial second is left out of the per-second figures. */
export function paceBySecond(timesMs: readonly number[], target: number, tolerance = 0.05): PaceFigures {
  if (timesMs.length < 2) return { events: timesMs.length, achievedPerSec: 0, perSecondMin: 0, perSecondMax: 0, secondsWithin: 0, wholeSeconds: 0 };
  const first = timesMs[0]!;
  const span = (timesMs.at(-1)! - first) / 1000;
  const whole = Math.floor(span);
  const perSecond = new Array<number>(whole).fill(0);
  for (const t of timesMs) {
    const s = Math.floor((t - first) / 1000);
    if (s < whole) perSecond[s]!++;
  }
  return {
    events: timesMs.length,
    achievedPerSec: +((timesMs.length - 1) / span).toFixed(2),
    perSecondMin: whole > 0 ? Math.min(...perSecond) : 0,
    perSecondMax: whole > 0 ? Math.max(...perSecond) : 0,
    secondsWithin: perSecond.filter((n) => Math.abs(n - target) <= target * tolerance).length,
    wholeSeconds: whole,
  };
}

/** Where a shared token bucket's budget went unused: gaps between consecutive takes long enough to overfill it. */
export interface BucketStalls {
  /** Gaps between consecutive takes longer than the burst lasts (burst / rate). */
  gaps: number;
  longestGapMs: number;
  /**
   * Tokens the bucket dropped at its burst during those gaps: after a gap of g s it had refilled g x rate, of which it
   * keeps at most the burst. Assumes it was nearly empty after each take, which holds while the pace binds.
   */
  tokensLost: number;
}

/** `takesMs` ascending: the claim times of a paced campaign, at `ratePerSec` with a bucket of `burst` tokens. */
export function bucketStalls(takesMs: readonly number[], ratePerSec: number, burst: number): BucketStalls {
  let gaps = 0;
  let longest = 0;
  let lost = 0;
  for (let i = 1; i < takesMs.length; i++) {
    const gap = takesMs[i]! - takesMs[i - 1]!;
    longest = Math.max(longest, gap);
    const refilled = (gap / 1000) * ratePerSec;
    if (refilled > burst) {
      gaps++;
      lost += refilled - burst;
    }
  }
  return { gaps, longestGapMs: longest, tokensLost: +lost.toFixed(1) };
}
