/**
 * Silero reports the end of speech late: its probability decays for a few windows after the voice stops, and the
 * detector then waits out its minimum silence. Measured here: 150-250 ms late. Counting the endpointer's trailing
 * silence from that late end adds the same to every turn's latency. This walks back over the frame energies of the
 * utterance to the last frame that still carries voice (within `dropDb` of the utterance's loudest frame) and
 * takes the end of that frame as the real end of speech. On a noisy line, where noise is within `dropDb` of the
 * voice, it walks back nowhere and the VAD's end stands.
 */
export interface SpeechEndRefinerOptions {
  /** Frames remembered (default 100 = 2 s at 20 ms). */
  frames?: number;
  /** A frame this far under the utterance's peak no longer counts as voice (default 25 dB). */
  dropDb?: number;
}

export class SpeechEndRefiner {
  private readonly energy: Float64Array;
  private readonly endMs: Float64Array;
  private readonly size: number;
  private readonly dropFactor: number;
  private head = 0;
  private count = 0;
  private peak = 0;
  private voiceEnd: number | undefined;

  constructor(opts: SpeechEndRefinerOptions = {}) {
    this.size = opts.frames ?? 100;
    this.energy = new Float64Array(this.size);
    this.endMs = new Float64Array(this.size);
    this.dropFactor = Math.pow(10, -(opts.dropDb ?? 25) / 10);
  }

  /** A new utterance began: its loudness is measured afresh. */
  startUtterance(): void {
    this.peak = 0;
    this.voiceEnd = undefined;
  }

  /**
   * End of the utterance's last frame loud enough to be voice (within `dropDb` of its peak so far); undefined before
   * its first. Known as each frame arrives, while the VAD reports the same end 150-300 ms later.
   */
  get lastVoiceEndMs(): number | undefined {
    return this.voiceEnd;
  }

  /** One frame of audio (any rate) ending at `frameEndMs` on the call's clock. Returns whether it carries voice. */
  push(samples: Float32Array, frameEndMs: number, speaking: boolean): boolean {
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
    const e = samples.length > 0 ? sum / samples.length : 0;
    this.energy[this.head] = e;
    this.endMs[this.head] = frameEndMs;
    this.head = (this.head + 1) % this.size;
    if (this.count < this.size) this.count++;
    if (speaking && e > this.peak) this.peak = e;
    const voiced = this.peak > 0 && e >= this.peak * this.dropFactor;
    if (voiced) this.voiceEnd = frameEndMs;
    return voiced;
  }

  /** The real end of speech for a VAD end reported at `vadEndMs` (never later than it, never before `notBeforeMs`). */
  refine(vadEndMs: number, notBeforeMs: number): number {
    if (this.peak === 0) return vadEndMs;
    const voiced = this.peak * this.dropFactor;
    for (let k = 1; k <= this.count; k++) {
      const i = (this.head - k + this.size) % this.size;
      const end = this.endMs[i]!;
      if (end > vadEndMs) continue;
      if (end <= notBeforeMs) return notBeforeMs;
      if (this.energy[i]! >= voiced) return end;
    }
    return vadEndMs;
  }
}
