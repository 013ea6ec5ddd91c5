/** A streaming sample-rate converter for mono PCM16. */
export interface Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /**
   * Convert the next chunk of a stream (any length). State is carried across calls, so chunked
   * and whole-buffer conversion give identical output. The returned view is reused by the next call.
   */
  process(input: Int16Array): Int16Array;
  /** Forget the stream (e.g. after a barge-in flush) so the next chunk starts from silence. */
  reset(): void;
  /**
   * Delay the filter adds, in output samples: output sample n reflects the input at time
   * (n - delaySamples) / outRate. Constant for the life of the resampler.
   */
  readonly delaySamples: number;
}

/** Filter trade-offs; the defaults suit telephony speech (flat to ~0.8 of the lower Nyquist, >= 70 dB stopband). */
export interface ResamplerQuality {
  /** Half-length of the sinc in periods of the lower rate. Longer = sharper transition, more CPU. */
  zeroCrossings?: number;
  /** Cutoff as a fraction of the lower rate's Nyquist frequency. */
  rolloff?: number;
  /** Kaiser window beta: higher = deeper stopband, wider transition. */
  kaiserBeta?: number;
}
