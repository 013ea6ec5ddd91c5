import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallVad, type VadEdge } from '../../src/speech/vad.ts';
import { VadPool } from '../../src/speech/vad-pool.ts';
import { concat, detectVadEdges, energyBounds, readTranscripts, readWavPcm, silence, VAD_MODEL } from './speech-fixtures.ts';
import { testLog } from '../support/run-log.ts';

const pool = new VadPool({
  model: VAD_MODEL,
  threshold: 0.3,
  minSpeechMs: 200,
  minSilenceMs: 100,
  warm: 1,
  maxIdle: 4,
  log: testLog(),
});

function detect(pcm8k: Int16Array): VadEdge[] {
  return detectVadEdges(pool, pcm8k).edges;
}

function snrDb(noise: string): number {
  if (noise === 'clean') return Infinity;
  return Number(/@(\d+)dB/.exec(noise)?.[1] ?? 0);
}

const PAD_MS = 1500;

test('finds the speech in every test wav with SNR >= 15 dB, boundaries near the energy truth', () => {
  let checked = 0;
  for (const row of readTranscripts()) {
    const snr = snrDb(row.noise);
    if (snr < 15) continue;
    const { pcm } = readWavPcm(row.file);
    const truth = energyBounds(pcm, 8000);
    const edges = detect(concat([silence(PAD_MS, 8000), pcm, silence(PAD_MS, 8000)]));
    const starts = edges.filter((e) => e.kind === 'start');
    const ends = edges.filter((e) => e.kind === 'end');
    assert.ok(starts.length >= 1, `${row.file}: speech found`);
    assert.is(starts.length, ends.length, `${row.file}: every start has an end`);
    const dStart = starts[0]!.atMs - (PAD_MS + truth.startMs);
    const dEnd = ends[ends.length - 1]!.atMs - (PAD_MS + truth.endMs);
    // Clean speech: within 0.25 s. Noisy speech: Silero holds on longer into noise, allow 0.45 s.
    const tolerance = snr === Infinity ? 250 : 450;
    assert.ok(Math.abs(dStart) <= tolerance, `${row.file}: start off by ${dStart} ms`);
    assert.ok(Math.abs(dEnd) <= tolerance, `${row.file}: end off by ${dEnd} ms`);
    // Edges are reported after the fact, never before.
    for (const e of edges) assert.ok(e.detectedAtMs >= e.atMs, `${row.file}: detected before it happened`);
    checked++;
  }
  assert.ok(checked >= 18, `checked ${checked} wavs`);
});

test('silence and faint noise are not speech', () => {
  assert.equal(detect(silence(3000, 8000)), []);
  const noise = new Int16Array(24000);
  let seed = 1;
  for (let i = 0; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    noise[i] = ((seed / 0x7fffffff) * 2 - 1) * 30; // about -60 dBFS
  }
  assert.equal(detect(noise), []);
});

test('a detector stays usable across utterances separated by long silences', () => {
  const rows = readTranscripts().filter((r) => r.noise === 'clean');
  const parts: Int16Array[] = [];
  for (const r of rows) parts.push(silence(PAD_MS, 8000), readWavPcm(r.file).pcm);
  parts.push(silence(PAD_MS, 8000));
  const edges = detect(concat(parts));
  // Each clean utterance yields at least one start, and none are lost after a long silence.
  let at = 0;
  for (const r of rows) {
    const { pcm } = readWavPcm(r.file);
    const from = at + PAD_MS;
    const to = from + (pcm.length / 8000) * 1000;
    assert.ok(edges.some((e) => e.kind === 'start' && e.atMs >= from - 300 && e.atMs < to), `${r.file} found in sequence`);
    at = to;
  }
});

test('instances are reused across calls, not created per call', () => {
  const before = pool.stats.created;
  for (let i = 0; i < 5; i++) new CallVad(pool).close();
  assert.is(pool.stats.created, before);
  assert.is(pool.stats.inUse, 0);
});

test.after(() => pool.close());
test.run();
