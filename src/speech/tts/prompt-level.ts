/**
 * Bot prompt levels for telephony. TTS engines deliver very different levels (espeak-ng's Mandarin voice peaks at
 * full scale, other voices sit 10 dB lower), and a G.711 line has no headroom above full scale. Each synthesized
 * sentence is brought to one active speech level, then limited so its peak stays at `peakDbfs`: prompts of every
 * engine and language sound equally loud and never clip after mu-law/A-law encoding.
 */

export interface PromptLevelOptions {
  /** Active speech level (RMS over the frames that carry speech), dBFS. */
  targetRmsDbfs: number;
  /** Highest sample allowed, dBFS (full scale = 32768). */
  peakDbfs: number;
}

export const DEFAULT_PROMPT_LEVEL: PromptLevelOptions = { targetRmsDbfs: -20, peakDbfs: -3 };

/** Frames quieter than this below the loudest frame are pauses, not speech (a simplified ITU-T P.56 gate). */
const ACTIVE_RANGE_DB = 35;
const ABSOLUTE_GATE_DBFS = -55;

export interface LevelMeasure {
  peakDbfs: number;
  /** RMS over active frames, dBFS; -Infinity for silence. */
  activeRmsDbfs: number;
}

/** Peak and active speech level of PCM16, frames of `frameSamples` (10 ms at the signal's rate is a good choice). */
export function measureLevel(pcm: Int16Array, frameSamples: number): LevelMeasure {
  let peak = 0;
  const energies: number[] = [];
  for (let at = 0; at < pcm.length; at += frameSamples) {
    const end = Math.min(pcm.length, at + frameSamples);
    let sum = 0;
    for (let i = at; i < end; i++) {
      const v = pcm[i]!;
      sum += v * v;
      const a = v < 0 ? -v : v;
      if (a > peak) peak = a;
    }
    energies.push(sum / (end - at));
  }
  const toDb = (energy: number): number => 10 * Math.log10(energy / (32768 * 32768));
  const loudest = energies.reduce((m, e) => (e > m ? e : m), 0);
  if (loudest === 0) return { peakDbfs: -Infinity, activeRmsDbfs: -Infinity };
  const gate = Math.max(toDb(loudest) - ACTIVE_RANGE_DB, ABSOLUTE_GATE_DBFS);
  let sum = 0;
  let n = 0;
  for (const e of energies) {
    if (e > 0 && toDb(e) >= gate) {
      sum += e;
      n++;
    }
  }
  return { peakDbfs: 20 * Math.log10(peak / 32768), activeRmsDbfs: n > 0 ? toDb(sum / n) : -Infinity };
}

/** A copy of `pcm` at the prompt level (silence stays silence). */
export function normalizePromptLevel(pcm: Int16Array, sampleRate: number, opts: PromptLevelOptions = DEFAULT_PROMPT_LEVEL): Int16Array {
  const out = new Int16Array(pcm.length);
  const { peakDbfs, activeRmsDbfs } = measureLevel(pcm, Math.max(1, Math.round(sampleRate / 100)));
  if (!Number.isFinite(peakDbfs)) return out;
  // The level the speech should have, unless that would push the peak over the limit.
  const gainDb = Math.min(opts.targetRmsDbfs - activeRmsDbfs, opts.peakDbfs - peakDbfs);
  const gain = Math.pow(10, gainDb / 20);
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.round(pcm[i]! * gain);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
