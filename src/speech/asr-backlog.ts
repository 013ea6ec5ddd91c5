/**
 * How far the recognizer is behind the callers: the age of the oldest caller audio handed to the ASR service that
 * is not decoded yet, smoothed over time. Age rather than an amount of audio because it is what a caller feels: a
 * partial transcript (and with it an early end of turn) comes that much later, and a final waits behind it.
 *
 * Audio is handed over in numbered batches (one per decode tick, all calls together); a batch counts as decoded
 * once the recognizer has been through everything handed before it.
 */

/** Time constant of the smoothing: one slow decode tick moves the value little, a backlog lasting seconds fully. */
const SMOOTHING_MS = 1000;

export class AsrBacklog {
  /** Hand-over times of the batches not decoded yet, oldest first; `firstWaiting` is the number of the first. */
  private readonly waiting: number[] = [];
  private firstWaiting = 1;
  private nextBatch = 1;
  private smoothed = 0;
  private sampledAt: number | undefined;

  /** `now`: a monotonic ms clock (injectable for tests). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A batch whose oldest audio arrived at `since` (default now) went to the recognizer; returns its number. */
  handed(since: number = this.now()): number {
    this.waiting.push(since);
    return this.nextBatch++;
  }

  /** The recognizer has decoded every batch up to and including number `batch`. */
  decoded(batch: number): void {
    while (this.firstWaiting <= batch && this.waiting.length > 0) {
      this.waiting.shift();
      this.firstWaiting++;
    }
  }

  /** Age of the oldest undecoded audio right now, ms (0 when the recognizer is through everything). */
  ageMs(): number {
    const oldest = this.waiting[0];
    return oldest === undefined ? 0 : Math.max(0, this.now() - oldest);
  }

  /** Folds the age now into the smoothed value (once per decode tick) and returns it. */
  sample(): number {
    const at = this.now();
    const age = this.ageMs();
    // Weighted by the time since the last sample, so the value does not depend on how often ticks run.
    const weight = this.sampledAt === undefined ? 1 : 1 - Math.exp(-Math.max(0, at - this.sampledAt) / SMOOTHING_MS);
    this.smoothed += weight * (age - this.smoothed);
    this.sampledAt = at;
    return this.smoothed;
  }

  /** The smoothed backlog, ms. */
  get ms(): number {
    return this.smoothed;
  }
}

/** Granularity of AsrBusy's window. */
const BUSY_BUCKET_MS = 1000;

/**
 * Share of wall time the recognizer spent decoding over the last `windowMs` (0..1). The decode times are wall times
 * measured around each decode, so a core shared with other processes shows as a busier recognizer: it is the
 * headroom the calls up leave on this machine now, which the backlog shows only once it is gone.
 */
export class AsrBusy {
  /** Decode ms per 1 s bucket, and which bucket (time / 1 s) each slot holds now. */
  private readonly busy: Float64Array;
  private readonly bucketOf: Float64Array;
  private readonly startedAt: number;

  /** `now`: a monotonic ms clock (injectable for tests). */
  constructor(
    private readonly windowMs: number = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    const n = Math.max(1, Math.ceil(windowMs / BUSY_BUCKET_MS));
    this.busy = new Float64Array(n);
    this.bucketOf = new Float64Array(n).fill(-1);
    this.startedAt = now();
  }

  /** A decode that took `computeMs` of wall time just ended. */
  add(computeMs: number): void {
    const bucket = Math.floor(this.now() / BUSY_BUCKET_MS);
    const slot = bucket % this.busy.length;
    if (this.bucketOf[slot] !== bucket) {
      this.bucketOf[slot] = bucket;
      this.busy[slot] = 0;
    }
    this.busy[slot]! += Math.max(0, computeMs);
  }

  /** Decode time / wall time over the window (or since the start, when shorter), at most 1. */
  fraction(): number {
    const now = this.now();
    const bucket = Math.floor(now / BUSY_BUCKET_MS);
    const n = this.busy.length;
    let sum = 0;
    for (let i = 0; i < n; i++) if (this.bucketOf[i]! > bucket - n) sum += this.busy[i]!;
    // The buckets kept cover the last n-1 whole seconds and the current one so far.
    const span = Math.min((n - 1) * BUSY_BUCKET_MS + (now - bucket * BUSY_BUCKET_MS), now - this.startedAt);
    return span > 0 ? Math.min(1, sum / span) : 0;
  }
}
