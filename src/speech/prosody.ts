/**
 * How a caller's voice ends: statements end with the pitch falling and the energy fading; a speaker who pauses
 * to go on holds the pitch level or lets it rise. This follows pitch (normalized autocorrelation on 8 kHz
 * decimated audio, 80-400 Hz) and energy per 20 ms frame of the current utterance, without allocating per frame,
 * and says at any moment how the last voiced stretch ended. Cost: ~25 k multiply-adds per voiced frame.
 */
import type { ProsodyEnd } from './end-of-turn.ts';

const DECIMATED_RATE = 8000;
const MIN_LAG = Math.floor(DECIMATED_RATE / 400);
const MAX_LAG = Math.ceil(DECIMATED_RATE / 80);
/** Two 20 ms frames at 8 kHz: long enough for 1.6 periods of an 80 Hz voice. */
const WINDOW = 320;
const VOICING_THRESHOLD = 0.45;
/** Pitched frames at the end compared with the rest of the utterance. */
const TAIL_FRAMES = 4;
const MIN_PITCHED_FRAMES = TAIL_FRAMES + 4;
const MAX_FRAMES = 400;

export class ProsodyTracker {
  private readonly window = new Float32Array(WINDOW);
  private readonly pitch = new Float32Array(MAX_FRAMES);
  private readonly energyDb = new Float32Array(MAX_FRAMES);
  private readonly sorted = new Float32Array(MAX_FRAMES);
  private frames = 0;
  private filled = 0;
  /** end() is polled on every silent frame; it only changes when a voiced frame arrives. */
  private cached: ProsodyEnd | undefined;

  /** A new utterance begins. */
  reset(): void {
    this.frames = 0;
    this.filled = 0;
    this.cached = undefined;
  }

  /** One frame of 16 kHz float audio that the VAD counts as speech. */
  push(samples16k: Float32Array): void {
    // Slide the 8 kHz window: drop the oldest half, append this frame decimated (2-tap average as anti-alias).
    const n = Math.min(samples16k.length >> 1, WINDOW);
    this.window.copyWithin(0, n);
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const v = (samples16k[2 * i]! + samples16k[2 * i + 1]!) * 0.5;
      this.window[WINDOW - n + i] = v;
      energy += v * v;
    }
    this.filled = Math.min(WINDOW, this.filled + n);
    this.cached = undefined;
    if (this.frames >= MAX_FRAMES) return;
    this.energyDb[this.frames] = 10 * Math.log10(energy / Math.max(1, n) + 1e-10);
    this.pitch[this.frames] = this.filled >= WINDOW ? this.estimatePitch() : 0;
    this.frames++;
  }

  /** Frames pushed in this utterance. */
  get voicedFrames(): number {
    return this.frames;
  }

  /** How the utterance's voice ended so far. */
  end(): ProsodyEnd {
    this.cached ??= this.classify();
    return this.cached;
  }

  private classify(): ProsodyEnd {
    let pitched = 0;
    for (let i = 0; i < this.frames; i++) if (this.pitch[i]! > 0) this.sorted[pitched++] = this.pitch[i]!;
    if (pitched >= MIN_PITCHED_FRAMES) {
      const body = median(this.sorted, 0, pitched - TAIL_FRAMES);
      const tail = median(this.sorted, pitched - TAIL_FRAMES, pitched);
      const ratio = tail / body;
      if (ratio < 0.9) return 'falling';
      if (ratio > 1.08) return 'rising';
      return this.energyFading() ? 'falling' : 'level';
    }
    return this.energyFading() ? 'falling' : 'unknown';
  }

  /** The last frames are clearly quieter than the utterance's loud part: the voice faded out. */
  private energyFading(): boolean {
    if (this.frames < 6) return false;
    let peak = -Infinity;
    for (let i = 0; i < this.frames; i++) if (this.energyDb[i]! > peak) peak = this.energyDb[i]!;
    let tail = 0;
    for (let i = this.frames - 3; i < this.frames; i++) tail += this.energyDb[i]!;
    return tail / 3 < peak - 12;
  }

  /** Pitch (Hz) of the window, or 0 when unvoiced. */
  private estimatePitch(): number {
    const x = this.window;
    let bestLag = 0;
    let best = 0;
    for (let lag = MIN_LAG; lag <= MAX_LAG; lag++) {
      let xy = 0;
      let xx = 0;
      let yy = 0;
      for (let i = 0; i + lag < WINDOW; i++) {
        const a = x[i]!;
        const b = x[i + lag]!;
        xy += a * b;
        xx += a * a;
        yy += b * b;
      }
      const r = xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
      if (r > best) {
        best = r;
        bestLag = lag;
      }
    }
    return best >= VOICING_THRESHOLD && bestLag > 0 ? DECIMATED_RATE / bestLag : 0;
  }
}

/** Median of values[from, to), collected in pitched order (the tail keeps its position). */
function median(values: Float32Array, from: number, to: number): number {
  const part = Array.from(values.subarray(from, to)).sort((a, b) => a - b);
  return part[part.length >> 1] ?? 0;
}
