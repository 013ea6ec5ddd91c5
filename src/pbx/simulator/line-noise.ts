/**
 * Deterministic white noise on a phone line: the same seed gives the same hiss, so benchmark runs repeat. It is
 * mixed into a buffer of its own, so the caller's audio stays untouched for the next use.
 */
export class LineNoise {
  private readonly out: Int16Array;
  private readonly amplitude: number;
  private seed: number;

  /** `dbfs` null: no noise. `frameSamples`: the length of every frame mixed. */
  constructor(dbfs: number | null, frameSamples: number, seed = 0x2545f491) {
    this.out = new Int16Array(frameSamples);
    // Uniform noise of peak A has RMS A/sqrt(3).
    this.amplitude = dbfs === null ? 0 : 32768 * Math.pow(10, dbfs / 20) * Math.sqrt(3);
    this.seed = seed >>> 0 || 1;
  }

  /** The frame with noise added (clipped to 16 bits); the same buffer is reused on every call. */
  mix(frame: Int16Array): Int16Array {
    if (this.amplitude === 0) return frame;
    for (let i = 0; i < frame.length; i++) {
      this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
      const v = frame[i]! + (this.seed / 4294967296 - 0.5) * 2 * this.amplitude;
      this.out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    return this.out;
  }
}
