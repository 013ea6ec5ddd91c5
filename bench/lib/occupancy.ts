/** A count (live calls) read at a moment (ms). */
export interface CountSample {
  at: number;
  live: number;
}

/** How a sampled count held against a cap over a stretch of time. */
export interface Occupancy {
  /** Samples inside the stretch. */
  samples: number;
  /** Mean of the count weighted by how long each sample held (until the next one, or the stretch's end). */
  timeWeightedMean: number;
  peak: number;
  /** Share of the samples within `tolerance` of the cap (at or above cap x (1 - tolerance)), 0-1. */
  withinShare: number;
  /** Samples above the cap. */
  over: number;
  /** The stretch (ms). */
  spanMs: number;
}

/**
 * The count against `cap` between `from` and `to` (ms): `samples` in time order; each holds until the next. A stretch
 * without samples gives zeros.
 */
export function occupancy(samples: readonly CountSample[], cap: number, from: number, to: number, tolerance = 0.05): Occupancy {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  if (inside.length === 0 || to <= from) return { samples: 0, timeWeightedMean: 0, peak: 0, withinShare: 0, over: 0, spanMs: Math.max(0, to - from) };
  let weighted = 0;
  for (let i = 0; i < inside.length; i++) weighted += inside[i]!.live * ((inside[i + 1]?.at ?? to) - inside[i]!.at);
  const held = to - inside[0]!.at;
  return {
    samples: inside.length,
    timeWeightedMean: held > 0 ? weighted / held : inside[0]!.live,
    peak: Math.max(...inside.map((s) => s.live)),
    withinShare: inside.filter((s) => s.live >= cap * (1 - tolerance)).length / inside.length,
    over: inside.filter((s) => s.live > cap).length,
    spanMs: to - from,
  };
}
