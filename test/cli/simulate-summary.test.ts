import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingTurnFigures, scriptedTurnFigures, speechSegments, summaryLines, timelineLine } from '../../src/cli/simulate-summary.ts';
import type { CallTimelineEvent } from '../../src/dialog/index.ts';
import type { BotBurst, SimulatedCallReport, TurnMeasurement } from '../../src/pbx/index.ts';

const RATE = 8000;

/** PCM at 8 kHz: `[ms, dBFS]` pieces, a 440 Hz tone at that level (null = digital silence). */
function pcm(pieces: [number, number | null][]): Int16Array {
  const total = pieces.reduce((n, [ms]) => n + (ms * RATE) / 1000, 0);
  const out = new Int16Array(total);
  let at = 0;
  for (const [ms, dbfs] of pieces) {
    const n = (ms * RATE) / 1000;
    const amp = dbfs === null ? 0 : 32767 * 10 ** (dbfs / 20) * Math.SQRT2;
    for (let i = 0; i < n; i++) out[at + i] = Math.round(amp * Math.sin((2 * Math.PI * 440 * i) / RATE));
    at += n;
  }
  return out;
}

function report(turns: Partial<TurnMeasurement>[], bursts: BotBurst[] = []): SimulatedCallReport {
  return {
    callId: 'c1',
    turns: turns.map((t) => ({ text: 'x', mode: 'afterPrompt', speechStartAt: 0, speechEndAt: 0, ...t }) as TurnMeasurement),
    botBursts: bursts,
    connectedAt: 0,
    botFrames: 0,
    endReason: 'bot hung up',
    durationMs: 10_000,
  };
}

const count = (lines: string[], re: RegExp): number => lines.filter((l) => re.test(l)).length;

test('demo call: one wire latency per turn and one barge-in figure, exactly as the phone measured them', () => {
  const lines = summaryLines(
    scriptedTurnFigures(
      report([
        { text: '是的', mode: 'afterPrompt', latencyMs: 304.4 },
        { text: '不需要了', mode: 'bargeIn', latencyMs: 512, bargeInStopMs: 43.2 },
      ]),
    ),
  );
  assert.equal(lines, [
    '  turn 1 "是的": reply latency 304 ms (on the wire)',
    '  turn 2 "不需要了" (over the bot): reply latency 512 ms (on the wire)',
    '  barge-in: bot stopped 43 ms after the caller started (on the wire)',
  ]);
});

test('demo call: a turn without a reply and a barge-in the bot ignored say so, with no made-up figure', () => {
  const lines = summaryLines(scriptedTurnFigures(report([{ text: '喂', mode: 'afterPrompt' }, { text: '等一下', mode: 'bargeIn' }])));
  assert.is(count(lines, /reply latency/), 0);
  assert.is(count(lines, /no bot reply before the caller spoke again or the call ended/), 2);
  assert.is(count(lines, /barge-in: the bot did not stop/), 1);
  assert.is(count(lines, /\d+ ms/), 0, lines.join('\n'));
});

test('no barge-in turn: the summary says the caller never talked over the bot', () => {
  const lines = summaryLines(scriptedTurnFigures(report([{ text: '是的', latencyMs: 280 }])));
  assert.is(lines.at(-1), '  barge-in: none (the caller never talked over the bot)');
});

test('timeline lines carry no latency figure: each turn figure is printed once, in the summary', () => {
  const events: CallTimelineEvent[] = [
    { type: 'botAudioStart', atMs: 1000, latencyMs: 326 },
    { type: 'bargeIn', atMs: 2000, heardMs: 1500, stopMs: 5 },
    { type: 'final', text: '是的', speechStartMs: 0, speechEndMs: 500, atMs: 900, earlyEndpoint: true },
  ];
  const lines = events.map(timelineLine);
  assert.is(lines[0], 'bot     audio starts');
  assert.not.match(lines[1]!, /\bms\b/);
  assert.not.match(lines[1]!, /\b5\b/);
  assert.match(lines[1]!, 'heard 1.50 s of the prompt');
  assert.is(timelineLine({ type: 'partial', text: '是', atMs: 1 }), undefined);
});

test('speechSegments finds each utterance of a recording within a frame, over a noise floor', () => {
  // 1 s of line noise, 1.2 s of speech, 1 s pause, 0.8 s speech, 0.5 s noise.
  const audio = pcm([
    [1000, -65],
    [1200, -20],
    [1000, -65],
    [800, -24],
    [500, -65],
  ]);
  const segments = speechSegments(audio, RATE);
  assert.is(segments.length, 2, JSON.stringify(segments));
  assert.equal(segments[0], { startMs: 1000, endMs: 2200 });
  assert.equal(segments[1], { startMs: 3200, endMs: 4000 });
});

test('speechSegments: a pause shorter than 400 ms stays inside the utterance; a click is not speech', () => {
  const audio = pcm([
    [500, null],
    [600, -20],
    [300, null],
    [600, -20],
    [500, null],
    [60, -10],
    [500, null],
  ]);
  assert.equal(speechSegments(audio, RATE), [{ startMs: 500, endMs: 2000 }]);
});

test('an empty WAV, digital silence or line noise only: no caller speech, no latency', () => {
  for (const audio of [new Int16Array(0), new Int16Array(50), pcm([[3000, null]]), pcm([[3000, -60]])]) {
    const segments = speechSegments(audio, RATE);
    assert.equal(segments, []);
    const lines = summaryLines(recordingTurnFigures(segments, 5000, [{ startAt: 5100, lastAt: 8000 }], 'speech at'));
    assert.equal(lines, ['  no caller speech in this call: no turn latency or barge-in to measure']);
  }
});

test('--wav: latency from the end of each utterance to the bot audio after it; barge-in from talking over the greeting', () => {
  const playedAt = 10_000;
  const segments = [
    { startMs: 1000, endMs: 2200 },
    { startMs: 3200, endMs: 4000 },
  ];
  const bursts: BotBurst[] = [
    // The greeting, still playing when the caller starts at 11000; its last frame left at 11080.
    { startAt: 8000, lastAt: 11_080 },
    // The reply to utterance 1, 650 ms after it ended.
    { startAt: 12_850, lastAt: 13_100 },
    // The reply to utterance 2, 420 ms after it ended.
    { startAt: 14_420, lastAt: 16_000 },
  ];
  const figures = recordingTurnFigures(segments, playedAt, bursts, 'speech at');
  assert.is(figures[0]!.replyMs, 650);
  assert.is(figures[0]!.bargeInStopMs, 80);
  assert.ok(figures[0]!.overBot);
  assert.is(figures[1]!.replyMs, 420);
  assert.not.ok(figures[1]!.overBot);
  const lines = summaryLines(figures);
  assert.equal(lines, [
    '  turn 1 "speech at 1.00-2.20 s" (over the bot): reply latency 650 ms (on the wire)',
    '  turn 2 "speech at 3.20-4.00 s": reply latency 420 ms (on the wire)',
    '  barge-in: bot stopped 80 ms after the caller started (on the wire)',
  ]);
});

test('--wav: bot audio that began before the utterance ended is no reply (never "0 ms"); a reply after the next onset belongs to no turn', () => {
  const playedAt = 0;
  const segments = [
    { startMs: 1000, endMs: 2000 },
    { startMs: 2500, endMs: 3000 },
  ];
  // The bot started talking inside utterance 1 and went on past its end, then only replied after utterance 2 began.
  const bursts: BotBurst[] = [
    { startAt: 1500, lastAt: 2300 },
    { startAt: 2700, lastAt: 2900 },
  ];
  const figures = recordingTurnFigures(segments, playedAt, bursts, 'speech at');
  assert.is(figures[0]!.replyMs, undefined);
  // The first burst's last frame (2300) left before utterance 2 began (2500): not talked over.
  assert.not.ok(figures[1]!.overBot);
  assert.is(figures[1]!.replyMs, undefined, 'the burst at 2700 began inside utterance 2');
  const lines = summaryLines(figures);
  assert.is(count(lines, /reply latency/), 0, lines.join('\n'));
  assert.is(count(lines, / 0 ms/), 0);
});

test('--wav: the bot talking over the caller without stopping is reported as such, not as a stop time', () => {
  const figures = recordingTurnFigures([{ startMs: 0, endMs: 1000 }], 0, [{ startAt: -2000, lastAt: 1500 }], 'speech at');
  assert.ok(figures[0]!.overBot);
  assert.is(figures[0]!.bargeInStopMs, undefined);
  assert.ok(summaryLines(figures).includes('  barge-in: the bot did not stop while the caller talked over it'));
});

test.run();
