import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { VadEdge } from '../../src/speech/vad.ts';
import { VadPool } from '../../src/speech/vad-pool.ts';
import { concat, detectVadEdges, energyBounds, readTranscripts, readWavPcm, silence, VAD_MODEL } from './speech-fixtures.ts';
import { testLog } from '../support/run-log.ts';

const pool = new VadPool({ model: VAD_MODEL, threshold: 0.3, minSpeechMs: 200, minSilenceMs: 100, warm: 2, maxIdle: 4, log: testLog() });

/** Quiet telephone line: white noise at about -60 dBFS, so gaps are not digital silence. */
function lineNoise(ms: number): Int16Array {
  const out = new Int16Array((ms * 8000) / 1000);
  let x = 7;
  for (let i = 0; i < out.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round((x / 4294967296 - 0.5) * 2 * 57);
  }
  return out;
}

function utterances(edges: VadEdge[]): [number, number][] {
  const out: [number, number][] = [];
  for (const e of edges) {
    if (e.kind !== 'end') continue;
    const last = out[out.length - 1];
    if (last && e.startMs - last[1] < 700) last[1] = e.atMs;
    else out.push([e.startMs, e.atMs]);
  }
  return out;
}

test('gating a quiet line skips most of it and finds the same speech, at the same times', () => {
  const clean = readTranscripts().filter((r) => r.noise === 'clean').slice(0, 4);
  assert.ok(clean.length >= 3, 'clean test wavs');
  const parts: Int16Array[] = [lineNoise(1500)];
  const truth: [number, number][] = [];
  let at = 1500;
  for (const row of clean) {
    const { pcm } = readWavPcm(row.file);
    const bounds = energyBounds(pcm, 8000);
    truth.push([at + bounds.startMs, at + bounds.endMs]);
    parts.push(pcm, lineNoise(2500), silence(500, 8000));
    at += (pcm.length / 8000) * 1000 + 3000;
  }
  const audio = concat(parts);
  const open = detectVadEdges(pool, audio, null);
  const gated = detectVadEdges(pool, audio, -50);
  assert.is(open.skipped, 0);
  assert.ok(gated.skipped > audio.length, `most quiet audio skipped (${gated.skipped} of ${audio.length * 2} samples at 16 kHz)`);
  // Segments a short pause apart are one utterance to the endpointer (its trailing silence is 700 ms), so compare
  // utterances: a detector restarted by the gate may split or join a mid-word pause differently. Starts match
  // closely; ends of a restarted detector were measured up to ~220 ms later (Silero's hangover differs with its
  // state), which the speech-end refiner then walks back anyway (speechEndRefiner.test.ts).
  const a = utterances(open.edges);
  const b = utterances(gated.edges);
  assert.is(a.length, clean.length, `ungated: one utterance per wav: ${JSON.stringify(a)}`);
  assert.is(b.length, clean.length, `gated: one utterance per wav: ${JSON.stringify(b)}`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]![0] - truth[i]![0]) <= 250, `ungated start ${i} near the truth`);
    assert.ok(Math.abs(b[i]![0] - a[i]![0]) <= 100, `start ${i}: gated ${b[i]![0]} vs ungated ${a[i]![0]}`);
    assert.ok(Math.abs(b[i]![1] - a[i]![1]) <= 250, `end ${i}: gated ${b[i]![1]} vs ungated ${a[i]![1]}`);
  }
});

test.run();
