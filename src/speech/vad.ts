/**
 * One call's Silero VAD, on the call's audio clock. Fed 16 kHz float audio in 20 ms frames; reports the edges of
 * speech as they are detected, with times corrected back to when the caller really started or stopped.
 */
import type { SherpaVad } from './models/sherpaBinding.ts';
import type { VadPool } from './vadPool.ts';

export type VadEdge =
  /** `atMs`: corrected start (the detector confirms speech only after minSpeechMs and two windows). */
  | { kind: 'start'; atMs: number; detectedAtMs: number }
  /** `atMs`: when the speech stopped; reported once the detector's minimum silence has passed. */
  | { kind: 'end'; atMs: number; startMs: number; detectedAtMs: number };

/** sherpa's Silero v5 windows: 512 new samples each, with 64 samples of context from the previous window. */
const WINDOW_SHIFT = 512;
const WINDOW_CONTEXT = 64;
const SAMPLES_PER_MS = 16;

export class CallVad {
  private vad: SherpaVad | undefined;
  /** Samples fed since the detector was last reset, and the absolute sample number of that reset. */
  private fed = 0;
  private base = 0;
  private detected = false;
  private quietSamples = 0;
  /** Whether speech ended since the last restart (restart once per silence, not periodically while idle). */
  private heardSpeech = false;
  private readonly startBackoffSamples: number;
  private readonly resetAfterSamples: number;

  /**
   * @param offsetMs audio-clock time of the first sample fed (for example minus a resampler's delay).
   * @param resetAfterSilenceMs restart the detector after this much non-speech (0 = never); see `accept`.
   */
  constructor(
    private readonly pool: VadPool,
    private readonly offsetMs = 0,
    resetAfterSilenceMs = 0,
  ) {
    this.resetAfterSamples = resetAfterSilenceMs * SAMPLES_PER_MS;
    this.vad = pool.acquire();
    // Where sherpa puts the start of a segment relative to the window that confirmed it (voice-activity-detector.cc).
    this.startBackoffSamples = 2 * (WINDOW_SHIFT + WINDOW_CONTEXT) + pool.minSpeechMs * SAMPLES_PER_MS;
  }

  get speaking(): boolean {
    return this.detected;
  }

  /** Detector delay from speech onset to the start edge, for sizing preroll buffers. */
  get startDelayMs(): number {
    return this.startBackoffSamples / SAMPLES_PER_MS + WINDOW_SHIFT / SAMPLES_PER_MS;
  }

  /** Feed 16 kHz samples; returns the edge this chunk produced, if any (at most one per 20 ms frame). */
  accept(samples: Float32Array): VadEdge | undefined {
    const vad = this.vad;
    if (!vad) return undefined;
    vad.acceptWaveform(samples);
    this.fed += samples.length;
    const now = vad.isDetected();
    if (now === this.detected) {
      if (!now) this.restartWhenQuiet(vad, samples.length);
      return undefined;
    }
    this.detected = now;
    this.quietSamples = 0;
    this.heardSpeech = true;
    const detectedAtMs = this.toMs(this.base + this.fed);
    if (now) {
      const windows = this.fed >= WINDOW_SHIFT + WINDOW_CONTEXT ? Math.floor((this.fed - WINDOW_CONTEXT) / WINDOW_SHIFT) : 0;
      const start = Math.max(0, windows * WINDOW_SHIFT - this.startBackoffSamples);
      return { kind: 'start', atMs: this.toMs(this.base + start), detectedAtMs };
    }
    let edge: VadEdge | undefined;
    while (!vad.isEmpty()) {
      const seg = vad.front();
      const start = this.base + seg.start;
      edge = { kind: 'end', atMs: this.toMs(start + seg.samples.length), startMs: this.toMs(start), detectedAtMs };
      vad.pop();
    }
    return edge ?? { kind: 'end', atMs: detectedAtMs, startMs: detectedAtMs, detectedAtMs };
  }

  /**
   * Silero's recurrent state, carried through a long stretch of (digital) silence after speech, was measured here
   * to leave the detector deaf to the next short utterance (a clean "不是" missed after 1.5 s of silence, found when
   * the detector starts fresh). Restarting it once the line has been quiet for a while costs nothing: the model
   * needs only a window or two of context to find the next onset.
   */
  private restartWhenQuiet(vad: SherpaVad, n: number): void {
    if (this.resetAfterSamples <= 0 || !this.heardSpeech) return;
    this.quietSamples += n;
    if (this.quietSamples < this.resetAfterSamples) return;
    vad.reset();
    this.base += this.fed;
    this.fed = 0;
    this.quietSamples = 0;
    this.heardSpeech = false;
  }

  close(): void {
    if (!this.vad) return;
    this.pool.release(this.vad);
    this.vad = undefined;
    this.detected = false;
  }

  private toMs(samples: number): number {
    return samples / SAMPLES_PER_MS + this.offsetMs;
  }
}
