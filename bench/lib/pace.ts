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
