/**
 * Whisper's log-mel features, as Smart Turn v3 feeds them to its ONNX model (WhisperFeatureExtractor with
 * chunk_length 8 and do_normalize): the last 8 s of 16 kHz mono audio (shorter audio zero-padded at the start, so
 * the end of the turn sits at the end of the input), normalized to zero mean and unit variance over that window,
 * a centred STFT (reflect padding, periodic Hann window of 400, hop 160, the last frame dropped), power spectrum,
 * 80 Slaney mel filters over 0-8 kHz, log10 with a 1e-10 floor, clamped at the window's maximum minus 8, then
 * (x + 4) / 4. Output: [80 mel bins][frames] row-major, the layout of `input_features` [1, 80, 800].
 *
 * Whisper's DFT has 400 points, not a power of two, and zero-padding it to 512 would move the bins: the exact
 * 400-point DFT is done with Bluestein's chirp-z method over fft.js's power-of-two FFT, two real frames packed into
 * one complex transform. All buffers are allocated once per extractor and reused.
 */
import FFT from 'fft.js';

export const WHISPER_SAMPLE_RATE = 16000;
export const WHISPER_N_FFT = 400;
export const WHISPER_HOP = 160;
export const WHISPER_MEL_BINS = 80;
const SPECTRUM_BINS = WHISPER_N_FFT / 2 + 1;
const MEL_FLOOR = 1e-10;
const NORMALIZE_EPSILON = 1e-7;
const DYNAMIC_RANGE = 8;

/**
 * Power spectra of real 400-sample frames, two at a time: the exact 400-point DFT (bins 0..200) by Bluestein's
 * method on a 1024-point FFT.
 */
export class RealDftPower {
  static readonly size = WHISPER_N_FFT;
  private readonly m = 1024;
  private readonly fft = new FFT(this.m);
  /** exp(-iπn²/N), interleaved re/im. */
  private readonly chirp = new Float64Array(2 * WHISPER_N_FFT);
  /** FFT of the conjugate chirp laid out circularly (the convolution kernel). */
  private readonly kernel: Float64Array;
  private readonly a: Float64Array;
  private readonly spectrum: Float64Array;
  private readonly conv: Float64Array;

  constructor() {
    const n = WHISPER_N_FFT;
    for (let k = 0; k < n; k++) {
      // k² mod 2N keeps the angle small and exact for large k.
      const angle = (Math.PI * ((k * k) % (2 * n))) / n;
      this.chirp[2 * k] = Math.cos(angle);
      this.chirp[2 * k + 1] = -Math.sin(angle);
    }
    const b = new Float64Array(2 * this.m);
    for (let k = 0; k < n; k++) {
      const re = this.chirp[2 * k]!;
      const im = -this.chirp[2 * k + 1]!;
      b[2 * k] = re;
      b[2 * k + 1] = im;
      if (k > 0) {
        b[2 * (this.m - k)] = re;
        b[2 * (this.m - k) + 1] = im;
      }
    }
    this.kernel = new Float64Array(2 * this.m);
    this.fft.transform(this.kernel, b);
    this.a = new Float64Array(2 * this.m);
    this.spectrum = new Float64Array(2 * this.m);
    this.conv = new Float64Array(2 * this.m);
  }

  /** |DFT|² of frames `x` and `y` (400 samples each) into `powerX` and `powerY` (201 bins each). */
  pair(x: ArrayLike<number>, y: ArrayLike<number>, powerX: Float64Array, powerY: Float64Array): void {
    const n = WHISPER_N_FFT;
    const a = this.a;
    const c = this.chirp;
    // z = x + iy, times the chirp.
    for (let k = 0; k < n; k++) {
      const xr = x[k]!;
      const yi = y[k]!;
      const cr = c[2 * k]!;
      const ci = c[2 * k + 1]!;
      a[2 * k] = xr * cr - yi * ci;
      a[2 * k + 1] = xr * ci + yi * cr;
    }
    a.fill(0, 2 * n);
    this.fft.transform(this.spectrum, a);
    const s = this.spectrum;
    const kern = this.kernel;
    for (let k = 0; k < 2 * this.m; k += 2) {
      const sr = s[k]!;
      const si = s[k + 1]!;
      s[k] = sr * kern[k]! - si * kern[k + 1]!;
      s[k + 1] = sr * kern[k + 1]! + si * kern[k]!;
    }
    this.fft.inverseTransform(this.conv, s);
    // Z_k = chirp_k * conv_k; stored back into `a` for k < N.
    const z = a;
    const v = this.conv;
    for (let k = 0; k < n; k++) {
      const vr = v[2 * k]!;
      const vi = v[2 * k + 1]!;
      const cr = c[2 * k]!;
      const ci = c[2 * k + 1]!;
      z[2 * k] = vr * cr - vi * ci;
      z[2 * k + 1] = vr * ci + vi * cr;
    }
    // Separate the two real signals: X_k = (Z_k + conj Z_{N-k}) / 2, Y_k = (Z_k - conj Z_{N-k}) / 2i.
    for (let k = 0; k < SPECTRUM_BINS; k++) {
      const j = k === 0 ? 0 : n - k;
      const zr = z[2 * k]!;
      const zi = z[2 * k + 1]!;
      const wr = z[2 * j]!;
      const wi = z[2 * j + 1]!;
      const xr = (zr + wr) / 2;
      const xi = (zi - wi) / 2;
      const yr = (zi + wi) / 2;
      const yi = (wr - zr) / 2;
      powerX[k] = xr * xr + xi * xi;
      powerY[k] = yr * yr + yi * yi;
    }
  }
}

/** One mel filter: weights over spectrum bins [start, start + weights.length). */
interface MelFilter {
  start: number;
  weights: Float64Array;
}

const hzToMel = (hz: number): number => (hz < 1000 ? (3 * hz) / 200 : 15 + (Math.log(hz / 1000) * 27) / Math.log(6.4));
const melToHz = (mel: number): number => (mel < 15 ? (200 * mel) / 3 : 1000 * Math.exp(((mel - 15) * Math.log(6.4)) / 27));

/** Slaney-style mel filters (Slaney mel scale, area-normalized triangles), as librosa and Whisper build them. */
export function slaneyMelFilters(bins = WHISPER_MEL_BINS, sampleRate = WHISPER_SAMPLE_RATE, nFft = WHISPER_N_FFT): MelFilter[] {
  const spectrumBins = nFft / 2 + 1;
  const fmax = sampleRate / 2;
  const melMax = hzToMel(fmax);
  const edges = Array.from({ length: bins + 2 }, (_, i) => melToHz((melMax * i) / (bins + 1)));
  const filters: MelFilter[] = [];
  for (let m = 0; m < bins; m++) {
    const [lo, mid, hi] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    const norm = 2 / (hi - lo);
    const weights: number[] = [];
    let start = -1;
    for (let k = 0; k < spectrumBins; k++) {
      const f = (k * fmax) / (spectrumBins - 1);
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      if (w > 0) {
        if (start < 0) start = k;
        weights[k - start] = w * norm;
      } else if (start >= 0) break;
    }
    filters.push({ start: Math.max(0, start), weights: Float64Array.from(weights, (w) => w ?? 0) });
  }
  return filters;
}

/** Centre frequency (Hz) of each mel filter, for tests and diagnostics. */
export function melCentreHz(bins = WHISPER_MEL_BINS, sampleRate = WHISPER_SAMPLE_RATE): number[] {
  const melMax = hzToMel(sampleRate / 2);
  return Array.from({ length: bins }, (_, m) => melToHz((melMax * (m + 1)) / (bins + 1)));
}

export class WhisperLogMel {
  /** Audio the features cover: frames × hop (8 s -> 128,000 samples). */
  readonly windowSamples: number;
  private readonly window: Float32Array;
  private readonly hann = new Float64Array(WHISPER_N_FFT);
  private readonly dft = new RealDftPower();
  private readonly filters = slaneyMelFilters();
  private readonly frameX = new Float64Array(WHISPER_N_FFT);
  private readonly frameY = new Float64Array(WHISPER_N_FFT);
  private readonly powerX = new Float64Array(SPECTRUM_BINS);
  private readonly powerY = new Float64Array(SPECTRUM_BINS);

  constructor(readonly frames = 800) {
    this.windowSamples = frames * WHISPER_HOP;
    this.window = new Float32Array(this.windowSamples);
    // Periodic Hann (torch.hann_window / np.hanning(N + 1)[:-1]).
    for (let n = 0; n < WHISPER_N_FFT; n++) this.hann[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / WHISPER_N_FFT);
  }

  /** Number of feature values: 80 × frames. */
  get size(): number {
    return WHISPER_MEL_BINS * this.frames;
  }

  /**
   * Features of the last `windowSamples` of `audio` (16 kHz, -1..1), zero-padded at the start when shorter, into
   * `out` ([80][frames], allocated when absent).
   */
  compute(audio: Float32Array, out = new Float32Array(this.size)): Float32Array {
    if (out.length !== this.size) throw new RangeError(`log-mel output needs ${this.size} values, got ${out.length}`);
    this.fillWindow(audio);
    let max = -Infinity;
    for (let t = 0; t < this.frames; t += 2) {
      this.frame(t, this.frameX);
      const second = t + 1 < this.frames;
      if (second) this.frame(t + 1, this.frameY);
      else this.frameY.fill(0);
      this.dft.pair(this.frameX, this.frameY, this.powerX, this.powerY);
      max = Math.max(max, this.melColumn(this.powerX, t, out));
      if (second) max = Math.max(max, this.melColumn(this.powerY, t + 1, out));
    }
    const floor = max - DYNAMIC_RANGE;
    for (let i = 0; i < out.length; i++) out[i] = (Math.max(out[i]!, floor) + 4) / 4;
    return out;
  }

  /** The analysed window: last samples of `audio`, zeros in front, normalized to zero mean and unit variance. */
  private fillWindow(audio: Float32Array): void {
    const w = this.window;
    const take = Math.min(audio.length, w.length);
    const pad = w.length - take;
    w.fill(0, 0, pad);
    w.set(audio.subarray(audio.length - take), pad);
    let sum = 0;
    for (let i = 0; i < w.length; i++) sum += w[i]!;
    const mean = sum / w.length;
    let sq = 0;
    for (let i = 0; i < w.length; i++) sq += (w[i]! - mean) ** 2;
    const scale = 1 / Math.sqrt(sq / w.length + NORMALIZE_EPSILON);
    for (let i = 0; i < w.length; i++) w[i] = (w[i]! - mean) * scale;
  }

  /** Frame `t` (centred on sample t × hop, reflect-padded at both ends), windowed, into `dest`. */
  private frame(t: number, dest: Float64Array): void {
    const w = this.window;
    const last = w.length - 1;
    const from = t * WHISPER_HOP - WHISPER_N_FFT / 2;
    for (let n = 0; n < WHISPER_N_FFT; n++) {
      let i = from + n;
      if (i < 0) i = -i;
      else if (i > last) i = 2 * last - i;
      dest[n] = w[i]! * this.hann[n]!;
    }
  }

  /** log10 mel energies of one frame into column `t` of `out`; returns the column's maximum. */
  private melColumn(power: Float64Array, t: number, out: Float32Array): number {
    let max = -Infinity;
    for (let m = 0; m < this.filters.length; m++) {
      const { start, weights } = this.filters[m]!;
      let e = 0;
      for (let j = 0; j < weights.length; j++) e += weights[j]! * power[start + j]!;
      const v = Math.log10(Math.max(e, MEL_FLOOR));
      out[m * this.frames + t] = v;
      if (v > max) max = v;
    }
    return max;
  }
}
