/** Real captures and models for the speech tests, resolved next to the repo (never absolute paths). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createResampler } from '../../src/media/index.ts';
import { buildRecognizerConfig } from '../../src/speech/asr-model-config.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { resolveModel } from '../../src/speech/models/model-lookup.ts';
import { loadSherpa, type SherpaOnlineRecognizerConfig } from '../../src/speech/models/sherpa-binding.ts';
import { CallVad, type VadEdge } from '../../src/speech/vad.ts';
import type { VadPool } from '../../src/speech/vad-pool.ts';

export const SHARED_MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));
export const TINY_DIR = `${SHARED_MODELS}callpilot-tiny-zh-en/`;
export const WAV_DIR = `${TINY_DIR}test_wavs/`;
export const VAD_MODEL = `${SHARED_MODELS}silero-vad/silero_vad_v5.onnx`;

export interface TranscriptRow {
  file: string;
  lang: string;
  noise: string;
  text: string;
  decoded: string;
}

export function readTranscripts(): TranscriptRow[] {
  const lines = readFileSync(`${WAV_DIR}transcripts.tsv`, 'utf8').trim().split('\n');
  const header = lines[0]!.split('\t');
  const col = (name: string): number => header.indexOf(name);
  return lines.slice(1).map((line) => {
    const f = line.split('\t');
    return {
      file: f[col('file')]!,
      lang: f[col('lang')]!,
      noise: f[col('noise')]!,
      text: f[col('text')]!,
      decoded: f[col('decoded_by_this_model')]!,
    };
  });
}

/** A test wav as PCM16 at its own rate (8 kHz). */
export function readWavPcm(file: string): { pcm: Int16Array; rate: number } {
  const wave = loadSherpa().readWave(`${WAV_DIR}${file}`);
  const pcm = new Int16Array(wave.samples.length);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(wave.samples[i]! * 32768)));
  return { pcm, rate: wave.sampleRate };
}

/** Doubles the rate by linear interpolation: enough to make 16 kHz test input from the 8 kHz captures. */
export function upsample2x(pcm: Int16Array): Int16Array {
  const out = new Int16Array(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) {
    const a = pcm[i]!;
    const b = i + 1 < pcm.length ? pcm[i + 1]! : a;
    out[2 * i] = a;
    out[2 * i + 1] = (a + b) >> 1;
  }
  return out;
}

/** The tiny model's recognizer config with the default `speech.asr` settings (one pass). */
export function tinyRecognizerConfig(): SherpaOnlineRecognizerConfig {
  return buildRecognizerConfig(speechConfigSchema.parse({}).asr, resolveModel('callpilot-tiny-zh-en', { rootDir: SHARED_MODELS }));
}

/** A test wav as the ASR takes it: 16 kHz float samples. */
export function readWavFloat16k(file: string): Float32Array {
  const pcm = upsample2x(readWavPcm(file).pcm);
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

// Line audio helpers live with the generated call-progress audio; the speech tests use the same ones.
export { concat, silence } from '../support/progress-audio.ts';

/**
 * Where speech is by energy alone (20 ms frames above a level between the noise floor and the peak): first and
 * last loud frame, in ms from the start of `pcm`.
 */
export function energyBounds(pcm: Int16Array, rate: number): { startMs: number; endMs: number } {
  const frame = rate / 50;
  const db: number[] = [];
  for (let off = 0; off + frame <= pcm.length; off += frame) {
    let sum = 0;
    for (let i = off; i < off + frame; i++) sum += pcm[i]! * pcm[i]!;
    db.push(10 * Math.log10(sum / frame + 1));
  }
  const sorted = [...db].sort((a, b) => a - b);
  const floor = sorted[Math.floor(sorted.length * 0.1)]!;
  const peak = sorted[sorted.length - 1]!;
  const threshold = Math.max(floor + 10, peak - 35);
  const first = db.findIndex((d) => d > threshold);
  let last = db.length - 1;
  while (last > 0 && db[last]! <= threshold) last--;
  return { startMs: first * 20, endMs: (last + 1) * 20 };
}

/** Feeds `pcm` in 20 ms frames, reusing one frame buffer as a transport would. */
export function pushFrames(pcm: Int16Array, rate: number, push: (frame: Int16Array) => void): void {
  const n = rate / 50;
  const frame = new Int16Array(n);
  for (let off = 0; off + n <= pcm.length; off += n) {
    frame.set(pcm.subarray(off, off + n));
    push(frame);
  }
}

/**
 * Runs 8 kHz audio through a fresh CallVad the way CallSpeech does (resampled to 16 kHz) and returns its edges
 * and how many 16 kHz samples the quiet-line gate kept from the model (`gateDbfs` null = no gate).
 */
export function detectVadEdges(pool: VadPool, pcm8k: Int16Array, gateDbfs: number | null = null): { edges: VadEdge[]; skipped: number } {
  const resampler = createResampler(8000, 16000);
  const vad = new CallVad(pool, -resampler.delaySamples / 16, 600, gateDbfs);
  const f = new Float32Array(320);
  const edges: VadEdge[] = [];
  pushFrames(pcm8k, 8000, (frame) => {
    const up = resampler.process(frame);
    for (let i = 0; i < up.length; i++) f[i] = up[i]! / 32768;
    const e = vad.accept(f);
    if (e) edges.push(e);
  });
  const skipped = vad.skipped;
  vad.close();
  return { edges, skipped };
}
