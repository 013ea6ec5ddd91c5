import type { Resampler, ResamplerQuality } from './resampler.ts';

/*
 * Hand-written rather than a library: the npm resamplers are either whole-buffer only
 * (wave-resampler, audio-resampler) or WASM ports of libsamplerate/speex that copy in and out of
 * the WASM heap and allocate result arrays per call. At 100 calls x 50 frames/s we want a
 * streaming converter that keeps its state and allocates nothing once warm.
 *
 * Design: rational L/M polyphase FIR. Conceptually the input is upsampled by L (zero stuffing),
 * low-pass filtered by a Kaiser-windowed sinc at the lower of the two Nyquist frequencies, and
 * decimated by M. Only the taps that meet non-zero input samples are evaluated, so each output
 * costs `tapsPerPhase` multiply-adds. 8k<->16k is L=2/M=1 or L=1/M=2; 22050->8000 is L=160/M=441.
 */

const DEFAULT_ZERO_CROSSINGS = 16;
const DEFAULT_ROLLOFF = 0.9;
const DEFAULT_KAISER_BETA = 8;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarterSquare = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= quarterSquare / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

export class PolyphaseResampler implements Resampler {
  readonly delaySamples: number;
  private readonly up: number;
  private readonly down: number;
  private readonly tapsPerPhase: number;
  /** phase-major: coefficients of phase p are at [p * tapsPerPhase, (p + 1) * tapsPerPhase), newest input first. */
  private readonly bank: Float32Array;
  /** The last tapsPerPhase-1 input samples, followed by the current chunk. */
  private history: Float32Array;
  /** Position of the next output in upsampled units, relative to the first sample of the current chunk. */
  private position = 0;
  private output: Int16Array;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
    quality: ResamplerQuality = {},
  ) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`resampler rates must be positive integers, got ${inRate} -> ${outRate}`);
    }
    const divisor = gcd(inRate, outRate);
    this.up = outRate / divisor;
    this.down = inRate / divisor;

    const zeroCrossings = quality.zeroCrossings ?? DEFAULT_ZERO_CROSSINGS;
    const rolloff = quality.rolloff ?? DEFAULT_ROLLOFF;
    const beta = quality.kaiserBeta ?? DEFAULT_KAISER_BETA;

    // Everything below is in the upsampled domain (rate inRate * up).
    const lowerRate = Math.min(inRate, outRate);
    const upsampledRate = inRate * this.up;
    const cutoff = (rolloff * lowerRate) / 2 / upsampledRate; // cycles per upsampled sample
    const halfLength = Math.ceil((zeroCrossings * upsampledRate) / lowerRate);
    this.tapsPerPhase = Math.ceil((2 * halfLength + 1) / this.up);
    const length = this.tapsPerPhase * this.up;
    const center = halfLength;
    const i0Beta = besselI0(beta);

    const prototype = new Float64Array(length);
    for (let j = 0; j < length; j++) {
      const offset = j - center;
      if (Math.abs(offset) > halfLength) continue; // padding taps past the window stay zero
      const sinc = offset === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * offset) / (Math.PI * offset);
      const ratio = offset / halfLength;
      const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - ratio * ratio))) / i0Beta;
      // Zero stuffing divides the signal's energy by `up`; the gain of `up` restores unity.
      prototype[j] = sinc * window * this.up;
    }

    this.bank = new Float32Array(length);
    for (let phase = 0; phase < this.up; phase++) {
      for (let k = 0; k < this.tapsPerPhase; k++) {
        this.bank[phase * this.tapsPerPhase + k] = prototype[phase + k * this.up];
      }
    }
    this.delaySamples = center / this.down;
    this.history = new Float32Array(this.tapsPerPhase - 1 + 1024);
    this.output = new Int16Array(Math.ceil((1024 * this.up) / this.down) + 1);
  }

  process(input: Int16Array): Int16Array {
    const keep = this.tapsPerPhase - 1;
    this.ensureCapacity(input.length);
    const history = this.history;
    for (let i = 0; i < input.length; i++) history[keep + i] = input[i];

    const up = this.up;
    const down = this.down;
    const taps = this.tapsPerPhase;
    const bank = this.bank;
    const output = this.output;
    const end = input.length * up;
    let position = this.position;
    let produced = 0;
    while (position < end) {
      const newest = keep + Math.floor(position / up);
      const base = (position % up) * taps;
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += bank[base + k] * history[newest - k];
      // Round half away from zero and saturate: overshoot on full-scale edges must not wrap.
      const rounded = acc >= 0 ? Math.floor(acc + 0.5) : Math.ceil(acc - 0.5);
      output[produced++] = rounded > 32767 ? 32767 : rounded < -32768 ? -32768 : rounded;
      position += down;
    }
    this.position = position - end;
    history.copyWithin(0, input.length, input.length + keep);
    return output.subarray(0, produced);
  }

  reset(): void {
    this.history.fill(0);
    this.position = 0;
  }

  /** Grows the scratch buffers for a chunk longer than any seen before; steady state never allocates. */
  private ensureCapacity(inputLength: number): void {
    const keep = this.tapsPerPhase - 1;
    if (this.history.length < keep + inputLength) {
      const grown = new Float32Array(keep + inputLength);
      grown.set(this.history.subarray(0, keep));
      this.history = grown;
    }
    const maxOutput = Math.ceil((inputLength * this.up) / this.down) + 1;
    if (this.output.length < maxOutput) this.output = new Int16Array(maxOutput);
  }
}
