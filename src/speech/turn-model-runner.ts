/**
 * Runs a call's audio turn model at the right moment: once per pause, after the caller has been silent for
 * `afterSilenceMs` inside an utterance, on the utterance's recent audio (up to 8 s, from the call's ring). The run is
 * asynchronous and off the frame path; its probability is kept for the end-of-turn decision until the caller voices
 * again, and a result that arrives after new voice is dropped. A failed run is logged and the decision goes on
 * without the model: it never holds a turn open.
 */
import type { Logger } from 'pino';
import type { PrerollRing } from './call-speech-preroll.ts';
import { TURN_MODEL_INPUT_SAMPLES, TurnModelSkipped, type TurnModel } from './turn-model.ts';

export class TurnModelRunner {
  /** Bumped whenever a judgement goes stale (voice, a new pause). */
  private generation = 0;
  /** Generation that a run was started for. */
  private ranFor = -1;
  /** Voice end (audio-clock ms) the current generation is about. */
  private pauseFromMs = Number.NaN;
  private probability: number | undefined;
  /** Cancels the run in flight when its answer goes stale before it starts. */
  private inFlight: AbortController | undefined;

  constructor(
    private readonly model: TurnModel,
    private readonly audio: PrerollRing,
    private readonly afterSilenceMs: number,
    /** Called when a probability arrives for the pause still going on (the decision is re-evaluated). */
    private readonly onProbability: () => void,
    private readonly log: Logger,
  ) {}

  /** The model's probability that the turn is complete, for the current pause; undefined until it has answered. */
  get completeProbability(): number | undefined {
    return this.probability;
  }

  /** The caller is voicing, or no utterance is open: any judgement is stale. */
  voiced(): void {
    if (this.ranFor !== this.generation && this.probability === undefined && Number.isNaN(this.pauseFromMs)) return;
    this.generation++;
    this.probability = undefined;
    this.pauseFromMs = Number.NaN;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  /**
   * A silent frame inside an utterance: the voice ended at `voiceEndMs`, it is now `nowMs`, and the utterance's audio
   * starts at ring sample `fromSample`.
   */
  silent(nowMs: number, voiceEndMs: number, fromSample: number): void {
    if (voiceEndMs !== this.pauseFromMs) {
      // A new pause (or the ASR found voice the VAD missed): what the model said of the last one no longer holds.
      this.voiced();
      this.pauseFromMs = voiceEndMs;
    }
    if (nowMs - voiceEndMs < this.afterSilenceMs || this.ranFor === this.generation) return;
    this.ranFor = this.generation;
    const generation = this.generation;
    const inFlight = new AbortController();
    this.inFlight = inFlight;
    this.model.completeProbability(utteranceAudio(this.audio, fromSample), inFlight.signal).then(
      (p) => {
        if (this.inFlight === inFlight) this.inFlight = undefined;
        if (generation !== this.generation) return;
        this.probability = p;
        this.onProbability();
      },
      (err: unknown) => {
        if (this.inFlight === inFlight) this.inFlight = undefined;
        if (err instanceof TurnModelSkipped) this.log.debug({ reason: err.message }, 'audio turn model run skipped');
        else if (generation === this.generation) this.log.warn({ err }, 'audio turn model run failed; the end of turn is decided without it');
      },
    );
  }
}

/** A copy of the utterance's last (up to) 8 s from the ring: one allocation per run, handed over to the model. */
export function utteranceAudio(ring: PrerollRing, fromSample: number): Float32Array {
  const n = Math.max(0, Math.min(ring.end - Math.max(0, fromSample), TURN_MODEL_INPUT_SAMPLES));
  const out = new Float32Array(n);
  let at = 0;
  ring.readFrom(ring.end - n, (chunk) => {
    out.set(chunk, at);
    at += chunk.length;
  });
  return out;
}
