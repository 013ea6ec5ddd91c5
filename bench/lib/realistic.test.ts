import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TurnMeasurement } from '../../src/pbx/index.ts';
import { lineWeightedCutOffRate, realisticScript, REALISTIC_LINES, summarizeRealistic, trimToVoice, type PieceVoices, type RealisticTurn } from './realistic.ts';
import { seededRandom } from './stats.ts';

const tone = (ms: number): Int16Array => Int16Array.from({ length: (ms * 8000) / 1000 }, (_, i) => (i % 2 ? 8000 : -8000));

test('trimToVoice drops quiet lead-in and tail, keeps the voiced middle', () => {
  const pcm = new Int16Array(8000 + 1600);
  pcm.set(tone(200), 4000);
  const out = trimToVoice(pcm);
  assert.is(out.length, 1600);
});

test('a call script: every line, off-script >= 1/3, pauses of 300-900 ms inside paused turns, seeded', () => {
  const voices: PieceVoices = new Map();
  for (const l of REALISTIC_LINES.zh) for (const p of l.pieces) voices.set(`zh\u0000${p}`, tone(400));
  const a = realisticScript('zh', voices, seededRandom(7));
  const b = realisticScript('zh', voices, seededRandom(7));
  assert.equal(a.map((t) => t.pausesMs), b.map((t) => t.pausesMs), 'repeatable');
  assert.ok(a.filter((t) => t.kind === 'offScript').length / a.length >= 1 / 3);
  for (const t of a) {
    for (const p of t.pausesMs) assert.ok(p >= 300 && p <= 900, `pause ${p}`);
    const pieces = REALISTIC_LINES.zh.find((l) => l.pieces.join(' ') === t.text)!.pieces.length;
    assert.is(t.pcm.length, pieces * 3200 + t.pausesMs.reduce((s, p) => s + p * 8, 0), 'audio = pieces + pauses');
  }
});

test('summary: cut-offs per paused turn; latency only over heard turns the bot did not talk into', () => {
  const turn = (kind: RealisticTurn['kind'], pausesMs: number[], tags: RealisticTurn['tags'] = []): RealisticTurn => ({ pcm: new Int16Array(8), text: kind, mode: 'afterPrompt', kind, tags, pausesMs });
  const m = (latencyMs: number | undefined, cut?: number): TurnMeasurement => ({ text: '', mode: 'afterPrompt', speechStartAt: 0, speechEndAt: 1, latencyMs, botStartedDuringTurnMs: cut });
  const s = summarizeRealistic([
    {
      script: [turn('expected', []), turn('paused', [500], ['selfCorrection']), turn('paused', [400]), turn('offScript', []), turn('paused', [300], ['selfCorrection'])],
      turns: [m(300), m(0, 900), m(450), m(700), m(500)],
      heard: [true, true, true, false, false],
      // The cut turn and an uncut one marked taken back: only a cut-off can be taken back.
      takenBack: [false, true, true, false, false],
    },
  ]);
  assert.is(s.cutOffsTakenBack, 1);
  assert.is(s.pausedTurns, 3);
  assert.is(s.cutOffs, 1);
  assert.equal(s.selfCorrections, { turns: 2, cutOffs: 1 });
  assert.is(s.unheard, 2);
  assert.equal(s.byKind.all.latency.n, 2);
  assert.is(s.byKind.paused.latency.p50, 450);
  assert.is(s.byKind.offScript.latency.n, 0);
});

test('summary: each paused line weighs alike in the line-weighted cut-off rate, however often calls reached it', () => {
  const turn = (text: string): RealisticTurn => ({ pcm: new Int16Array(8), text, mode: 'afterPrompt', kind: 'paused', tags: [], pausesMs: [500] });
  const m = (cut?: number): TurnMeasurement => ({ text: '', mode: 'afterPrompt', speechStartAt: 0, speechEndAt: 1, latencyMs: 200, botStartedDuringTurnMs: cut });
  const often = { script: [turn('嗯， 需要')], turns: [m()], heard: [true] };
  const late = { script: [turn('嗯， 需要'), turn('是的， 哦不对')], turns: [m(), m(100)], heard: [true, true] };
  const s = summarizeRealistic([often, often, often, late]);
  assert.is(s.cutOffs, 1);
  assert.is(s.pausedTurns, 5);
  assert.equal(
    s.pausedLines.map((l) => [l.text, l.turns, l.cutOffs]),
    [
      ['嗯， 需要', 4, 0],
      ['是的， 哦不对', 1, 1],
    ],
  );
  assert.is(lineWeightedCutOffRate(s.pausedLines), 0.5);
  assert.is(lineWeightedCutOffRate(summarizeRealistic([]).pausedLines), undefined);
});

test.run();
