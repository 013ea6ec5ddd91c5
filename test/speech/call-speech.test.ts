import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createResampler } from '../../src/media/index.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { createSpeechEngine } from '../../src/speech/speech-engine.ts';
import type { CallSpeech, CallSpeechEvents, SpeechEngine } from '../../src/speech/types.ts';
import { concat, readTranscripts, readWavPcm, SHARED_MODELS, silence, type TranscriptRow } from './speech-fixtures.ts';
import { testLog } from '../support/run-log.ts';

type Final = CallSpeechEvents['final'][0];

const GAP_MS = 1500;
/** Utterances start on the ASR's 160 ms start grid, as they did when transcripts.tsv was decoded from each file. */
const GRID_MS = 160;

/** The rows the tiny model decodes exactly: their reference text is what the real pipeline must produce. */
const exactRows = readTranscripts().filter((r) => r.text === r.decoded);

/** Wavs separated by >= 1.5 s of silence, each starting on the grid; returns 8 kHz audio and utterance spans. */
function layout(rows: TranscriptRow[]): { pcm: Int16Array; spans: Array<{ row: TranscriptRow; fromMs: number; toMs: number }> } {
  const parts: Int16Array[] = [];
  const spans: Array<{ row: TranscriptRow; fromMs: number; toMs: number }> = [];
  let at = 0;
  for (const row of rows) {
    let gap = GAP_MS;
    gap += (GRID_MS - ((at + gap) % GRID_MS)) % GRID_MS;
    parts.push(silence(gap, 8000));
    at += gap;
    const { pcm } = readWavPcm(row.file);
    parts.push(pcm);
    spans.push({ row, fromMs: at, toMs: at + pcm.length / 8 });
    at += pcm.length / 8;
  }
  parts.push(silence(GAP_MS, 8000));
  return { pcm: concat(parts), spans };
}

interface CallRun {
  call: CallSpeech;
  pcm: Int16Array;
  rate: number;
  finals: Final[];
  partials: number;
}

function startCall(engine: SpeechEngine, id: string, pcm: Int16Array, rate: 8000 | 16000, expected?: string[]): CallRun {
  const call = engine.createCall(id, rate, 'zh');
  if (expected) call.setExpected(expected);
  const run: CallRun = { call, pcm, rate, finals: [], partials: 0 };
  call.on('final', (e) => run.finals.push(e));
  call.on('partial', () => run.partials++);
  return run;
}

/**
 * Pushes all calls' audio frame by frame, interleaved across calls, yielding to the event loop every few frames so
 * the ASR worker's partials come back while the audio is still flowing (faster than real time, in order).
 */
async function pushAll(runs: CallRun[]): Promise<void> {
  const longest = Math.max(...runs.map((r) => r.pcm.length / (r.rate / 50)));
  const frames = runs.map((r) => new Int16Array(r.rate / 50));
  for (let f = 0; f < longest; f++) {
    runs.forEach((r, i) => {
      const n = frames[i]!.length;
      if ((f + 1) * n > r.pcm.length) return;
      frames[i]!.set(r.pcm.subarray(f * n, (f + 1) * n));
      r.call.push(frames[i]!);
    });
    if (f % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

async function settle(runs: CallRun[], expectedFinals: number): Promise<void> {
  for (let i = 0; i < 200 && runs.some((r) => r.finals.length < expectedFinals); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let engine: SpeechEngine;

test.before(async () => {
  const cfg = speechConfigSchema.parse({ vad: { poolSize: 2 }, asr: { decodeIntervalMs: 10 } });
  engine = await createSpeechEngine(cfg, { log: testLog(), modelsRoot: SHARED_MODELS });
});

test.after(async () => {
  await engine.close();
});

const single = layout(exactRows);
let singleTexts: string[] = [];

test('one final per utterance, text equal to the reference decode (8 kHz, ASR in a worker)', async () => {
  const run = startCall(engine, 'one', single.pcm, 8000);
  await pushAll([run]);
  await settle([run], single.spans.length);
  run.call.close();
  assert.is(run.finals.length, single.spans.length, `finals: ${run.finals.map((f) => f.text).join(' | ')}`);
  run.finals.forEach((f, i) => {
    const span = single.spans[i]!;
    assert.is(f.text, span.row.decoded, `${span.row.file}`);
    // The utterance's times are on the audio clock around where the wav sits.
    assert.ok(f.speechStartMs >= span.fromMs - 300 && f.speechStartMs < span.toMs, `${span.row.file} start ${f.speechStartMs}`);
    assert.ok(f.speechEndMs > f.speechStartMs && f.speechEndMs <= span.toMs + 500, `${span.row.file} end ${f.speechEndMs}`);
    // No expected answers: the dynamic end of turn picked a wait from the transcript and prosody, within its bounds.
    assert.ok(f.waitMs !== undefined && f.waitMs >= 180 && f.waitMs <= 1200, `wait ${f.waitMs}`);
    assert.ok(f.atMs >= f.speechEndMs + f.waitMs!, `decided after the wait: ${JSON.stringify(f)}`);
    assert.not.ok(f.earlyEndpoint);
  });
  assert.ok(run.partials > 0, 'partials were emitted');
  assert.ok(engine.asrRealTimeFactor() > 0, 'real-time factor measured');
  singleTexts = run.finals.map((f) => f.text);
});

test('expected answers end the turn earlier', async () => {
  const expected = exactRows.map((r) => r.decoded);
  const run = startCall(engine, 'expected', single.pcm, 8000, expected);
  await pushAll([run]);
  await settle([run], single.spans.length);
  run.call.close();
  assert.is(run.finals.length, single.spans.length);
  const early = run.finals.filter((f) => f.earlyEndpoint);
  assert.ok(early.length >= single.spans.length / 2, `early endpoints: ${early.length} of ${run.finals.length}`);
  for (const f of early) {
    assert.ok(f.atMs - f.speechEndMs < 700, `early decision ${f.atMs - f.speechEndMs} ms after speech end: ${JSON.stringify(f)}`);
    assert.ok(f.atMs - f.speechEndMs >= 200, 'not before the expected-answer silence');
  }
  // Ending early must not change what was heard.
  assert.equal(
    run.finals.map((f) => f.text),
    single.spans.map((s) => s.row.decoded),
  );
});

test('many calls decoded together give the same texts as one call', async () => {
  const runs: CallRun[] = [];
  const layouts = [0, 1, 2, 3, 4, 5].map((k) => layout(exactRows.slice(k * 3, k * 3 + 6)));
  layouts.forEach((l, k) => runs.push(startCall(engine, `many-${k}`, l.pcm, 8000)));
  await pushAll(runs);
  for (let i = 0; i < 300 && runs.some((r, k) => r.finals.length < layouts[k]!.spans.length); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  runs.forEach((r, k) => {
    r.call.close();
    assert.equal(
      r.finals.map((f) => f.text),
      layouts[k]!.spans.map((s) => s.row.decoded),
      `call ${k}`,
    );
  });
});

test('16 kHz input gives the same texts as 8 kHz input', async () => {
  const up = createResampler(8000, 16000).process(single.pcm).slice();
  const run = startCall(engine, 'wide', up, 16000);
  await pushAll([run]);
  await settle([run], single.spans.length);
  run.call.close();
  assert.equal(run.finals.map((f) => f.text), singleTexts.length ? singleTexts : single.spans.map((s) => s.row.decoded));
});

test('audio clock and speaking flag follow the pushed audio', () => {
  const call = engine.createCall('clock', 8000, 'zh');
  assert.is(call.nowMs, 0);
  const frame = new Int16Array(160);
  for (let i = 0; i < 50; i++) call.push(frame);
  assert.is(call.nowMs, 1000);
  assert.not.ok(call.speaking);
  call.close();
  call.push(frame);
  assert.is(call.nowMs, 1000, 'closed calls ignore audio');
});

test.run();
