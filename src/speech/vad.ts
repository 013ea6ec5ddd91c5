/**
 * One call's Silero VAD, on the call's audio clock. Fed 16 kHz float audio in 20 ms frames; reports the edges of
 * speech as they are detected, with times corrected back to when the caller really started or stopped.
 */
import type { SherpaVad } from './models/sherpa-binding.ts';
import type { VadPool } from './vad-pool.ts';

export type VadEdge =
  /** `atMs`: corrected start (the detector confirms speech only after minSpeechMs and two windows). */
  | { kind: 'start'; atMs: number; detectedAtMs: number }
  /** `atMs`: when the speech stopped; reported once the detector's minimum silence has passed. */
  | { kind: 'end'; atMs: number; startMs: number; detectedAtMs: number };

/** sherpa's Silero v5 windows: 512 new samples each, with 64 samples of context from the previous window. */
const WINDOW_SHIFT = 512;
const WINDOW_CONTEXT = 64;
const SAMPLES_PER_MS = 16;
/** Quiet frames (20 ms) before the gate closes: long enough for the detector to finish any segment. */
const GATE_AFTER_QUIET_FRAMES = 25;

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
  /** Mean-square level (of [-1, 1] samples) under which a quiet line is not run through the model; 0 = never gate. */
  private readonly gateEnergy: number;
  private quietFrames = 0;
  private gated = false;
  private gatedFrames = 0;
  private skippedSamples = 0;
  private previous = new Float32Array(320);

  /**
   * @param offsetMs audio-clock time of the first sample fed (for example minus a resampler's delay).
   * @param resetAfterSilenceMs restart the detector after this much non-speech (0 = never); see `accept`.
   */
  constructor(
    private readonly pool: VadPool,
    private readonly offsetMs = 0,
    resetAfterSilenceMs = 0,
    gateDbfs: number | null = null,
  ) {
    this.resetAfterSamples = resetAfterSilenceMs * SAMPLES_PER_MS;
    this.gateEnergy = gateDbfs === null ? 0 : Math.pow(10, gateDbfs / 10);
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
    if (this.gateEnergy > 0 && this.gateQuiet(vad, samples)) return undefined;
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

  /**
   * Silero costs ~0.1 ms per frame per call, and most of a call's caller-side frames are a quiet line while the
   * bot talks. Once the line has been quiet (under `gateDbfs`) for a while and no speech is under way, frames are
   * not run through the model at all: the detector is restarted (as after any quiet stretch) and its clock moved
   * on. The first louder frame goes to the model together with the frame before it, for context.
   * Returns true when the frame was skipped.
   */
  private gateQuiet(vad: SherpaVad, samples: Float32Array): boolean {
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
    const quiet = !this.detected && sum / Math.max(1, samples.length) < this.gateEnergy;
    if (!quiet) {
      this.quietFrames = 0;
      if (this.gated) {
        this.gated = false;
        // The previous frame was skipped: give it to the model now, at its own place on the clock.
        this.base -= this.previous.length;
        vad.acceptWaveform(this.previous);
        this.fed += this.previous.length;
      }
      this.keepPrevious(samples);
      return false;
    }
    this.quietFrames++;
    if (this.quietFrames <= GATE_AFTER_QUIET_FRAMES) {
      this.keepPrevious(samples);
      return false;
    }
    if (!this.gated) {
      this.gated = true;
      this.gatedFrames++;
      vad.reset();
      this.base += this.fed;
      this.fed = 0;
      this.quietSamples = 0;
      this.heardSpeech = false;
    }
    this.base += samples.length;
    this.skippedSamples += samples.length;
    this.keepPrevious(samples);
    return true;
  }

  private keepPrevious(samples: Float32Array): void {
    if (this.previous.length !== samples.length) this.previous = new Float32Array(samples.length);
    this.previous.set(samples);
  }

  /** Samples never run through the model because the line was quiet (for measurements). */
  get skipped(): number {
    return this.skippedSamples;
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
