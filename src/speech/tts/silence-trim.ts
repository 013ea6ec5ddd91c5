export interface SilenceTrimOptions {
  /** Audio kept before the first window with energy. Default 5 ms. */
  keepLeadMs?: number;
  /** Audio kept after the last window with energy. Default 20 ms. */
  keepTailMs?: number;
  /** Fade-in length; avoids a click if the kept lead is not quite silent. Default 5 ms. */
  fadeInMs?: number;
  /** Fade-out length; espeak-ng (this build) stops mid-waveform, which clicks without it. Default 12 ms. */
  fadeOutMs?: number;
  /** Zeros appended after the fade, so a resampler's filter delay flushes the real end out. Default 10 ms. */
  padEndMs?: number;
  /** A window counts as sound when its peak exceeds this fraction of the whole clip's peak. Default 0.03. */
  relativeThreshold?: number;
}

const WINDOW_MS = 2;
/** Below this absolute peak (about -50 dBFS) a window is silence whatever the clip's level. */
const ABSOLUTE_FLOOR = 100;

function windowPeak(pcm: Int16Array, from: number, to: number): number {
  let peak = 0;
  for (let i = from; i < to; i++) {
    const v = pcm[i] < 0 ? -pcm[i] : pcm[i];
    if (v > peak) peak = v;
  }
  return peak;
}

/**
 * Cuts the silence a synthesizer puts before and after a sentence (leading silence is pure added latency
 * before the caller hears the bot) and fades both ends. Returns a new array; an all-silent clip gives an empty one.
 */
export function trimSilence(pcm: Int16Array, sampleRate: number, options: SilenceTrimOptions = {}): Int16Array {
  const ms = (value: number): number => Math.round((value * sampleRate) / 1000);
  const win = Math.max(1, ms(WINDOW_MS));
  const threshold = Math.max(ABSOLUTE_FLOOR, windowPeak(pcm, 0, pcm.length) * (options.relativeThreshold ?? 0.03));

  let first = -1;
  for (let i = 0; i < pcm.length; i += win) {
    if (windowPeak(pcm, i, Math.min(pcm.length, i + win)) > threshold) {
      first = i;
      break;
    }
  }
  if (first < 0) return new Int16Array(0);
  let lastEnd = pcm.length;
  for (let end = pcm.length; end > first; end -= win) {
    if (windowPeak(pcm, Math.max(first, end - win), end) > threshold) {
      lastEnd = end;
      break;
    }
  }

  const start = Math.max(0, first - ms(options.keepLeadMs ?? 5));
  const stop = Math.min(pcm.length, lastEnd + ms(options.keepTailMs ?? 20));
  const length = stop - start;
  const out = new Int16Array(length + ms(options.padEndMs ?? 10));
  out.set(pcm.subarray(start, stop));

  const fadeIn = Math.min(ms(options.fadeInMs ?? 5), length >> 1);
  for (let i = 0; i < fadeIn; i++) out[i] = Math.round((out[i] * i) / fadeIn);
  const fadeOut = Math.min(ms(options.fadeOutMs ?? 12), length >> 1);
  for (let i = 0; i < fadeOut; i++) {
    const at = length - 1 - i;
    out[at] = Math.round((out[at] * i) / fadeOut);
  }
  return out;
}
