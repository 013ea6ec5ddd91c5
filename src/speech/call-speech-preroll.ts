/**
 * The last few hundred ms of a call's 16 kHz audio, so the ASR can be started on audio from before the VAD
 * confirmed speech (the detector confirms late). Indexed by absolute sample number.
 */
export class PrerollRing {
  private readonly buf: Float32Array;
  private written = 0;

  constructor(capacitySamples: number) {
    this.buf = new Float32Array(Math.max(1, capacitySamples));
  }

  /** Absolute index one past the newest sample. */
  get end(): number {
    return this.written;
  }

  write(samples: Float32Array): void {
    const cap = this.buf.length;
    let src = samples;
    if (src.length > cap) src = src.subarray(src.length - cap);
    const at = (this.written + samples.length - src.length) % cap;
    const first = Math.min(src.length, cap - at);
    this.buf.set(src.subarray(0, first), at);
    if (first < src.length) this.buf.set(src.subarray(first), 0);
    this.written += samples.length;
  }

  /**
   * Calls `sink` with the stored samples from absolute index `from` (clamped to what is kept) to the end, in at
   * most two views into the ring; the views are only valid during the call.
   */
  readFrom(from: number, sink: (samples: Float32Array) => void): void {
    const cap = this.buf.length;
    const start = Math.max(from, this.written - cap, 0);
    const n = this.written - start;
    if (n <= 0) return;
    const at = start % cap;
    const first = Math.min(n, cap - at);
    sink(this.buf.subarray(at, at + first));
    if (first < n) sink(this.buf.subarray(0, n - first));
  }
}
