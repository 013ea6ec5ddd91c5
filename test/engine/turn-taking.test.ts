import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemoApp, type DemoApp } from './demo-app.ts';
import { synthesizeCallerTurns } from '../../src/cli/caller-voice.ts';
import type { CallTimelineEvent } from '../../src/dialog/index.ts';
import { runSimulatedCall, type CallerTurn } from '../../src/pbx/index.ts';
import { trimToVoice } from '../../bench/lib/realistic.ts';

/*
 * Issue 12 through the whole engine: real espeak caller voice over G.711 on the media WebSocket, Silero VAD, the
 * tiny sherpa model, the dynamic end of turn and espeak TTS for the bot. A caller who pauses after a filler is not
 * cut off; an off-script answer (words the flow does not expect) is answered after the wait the cues chose.
 * Nothing here is timed against the wall clock: the assertions use the server's audio-clock timeline.
 */

let demo: DemoApp;

test.before(async () => {
  demo = await startDemoApp('eot');
});

test.after(async () => {
  await demo?.close();
});

/** One caller turn made of pieces with silences between them (the pause is part of the turn). */
async function pausedTurn(pieces: string[], pauseMs: number): Promise<CallerTurn> {
  const voiced = await synthesizeCallerTurns(pieces.map((text) => ({ text, mode: 'afterPrompt' })), 'zh', 8000);
  const parts: Int16Array[] = [];
  voiced.forEach((v, i) => {
    if (i > 0) parts.push(new Int16Array((pauseMs * 8000) / 1000));
    parts.push(trimToVoice(v.pcm));
  });
  const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    pcm.set(p, at);
    at += p.length;
  }
  // Wait for 1.5 s of bot silence before speaking: on a loaded machine the bot's next sentence can come after a
  // gap longer than the simulator's 300 ms "prompt over" silence, and speaking into that gap is a barge-in.
  return { pcm, text: pieces.join(' '), mode: 'afterPrompt', pauseMs: 1500 };
}

/** A flow and its variables; the demo flow by default. */
interface CallFlow {
  flow: string;
  variables?: Record<string, string>;
}

async function call(turns: CallerTurn[], flow: CallFlow = { flow: 'demo' }): Promise<{ events: CallTimelineEvent[]; report: Awaited<ReturnType<typeof runSimulatedCall>> }> {
  const events: CallTimelineEvent[] = [];
  const report = await runSimulatedCall({
    url: demo.mediaUrl,
    token: demo.token,
    start: { codec: 'pcmu', sampleRate: 8000, lang: 'zh', from: 'eot-test', ...flow },
    turns,
    hangupAfterQuietMs: 1500,
    maxCallMs: 60_000,
    lineNoiseDbfs: -55,
    onNotice: (notice) => {
      if (notice.event !== 'timeline') return;
      const { event: _e, ...rest } = notice;
      events.push(rest as unknown as CallTimelineEvent);
    },
  });
  return { events, report };
}

const finals = (events: CallTimelineEvent[]) => events.filter((e): e is Extract<CallTimelineEvent, { type: 'final' }> => e.type === 'final');

/**
 * One paused yes-turn, heard whole: the bot never talked into a pause, one final carries the whole turn, and the
 * greeting moved on to the offer (the yes was understood) after the caller really finished.
 */
async function assertWholeYesTurn(pieces: string[], pauseMs: number): Promise<void> {
  const { events, report } = await call([await pausedTurn(pieces, pauseMs)]);
  const detail = JSON.stringify({ turns: report.turns, finals: finals(events) });
  const turn = report.turns[0];
  assert.ok(turn, detail);
  assert.is(turn.botStartedDuringTurnMs, undefined, `the bot talked into a pause: ${detail}`);
  const f = finals(events).filter((e) => e.text.trim() !== '');
  assert.is(f.length, 1, `one final for the whole turn: ${detail}`);
  assert.ok(f[0]!.text.includes('是'), detail);
  assert.ok(events.some((e) => e.type === 'bot' && e.text.includes('新的服务')), `answered as yes: ${detail}`);
  assert.ok(turn.latencyMs !== undefined && turn.latencyMs > 0, detail);
}

test('a caller pausing 800 ms after a filler (嗯，……是的) is not cut off: one turn, answered as yes', async () => {
  await assertWholeYesTurn(['嗯，', '是的'], 800);
});

test('a caller pausing 800 ms twice after fillers the tiny model spells as words (嗯，那个，……是的) is not cut off', async () => {
  // The realistic bench cut this turn after the first pause: the model heard 嗯，那个 as "嗯 not", a short answer
  // to a yes/no question with none of its answers, and a falling end took 420 ms of silence for the end of turn.
  await assertWholeYesTurn(['嗯，', '那个，', '是的'], 800);
});

test('a caller asked for a day who says 我想想, pauses 900 ms and then names it is not cut off: the step waits for the day', async () => {
  // The tiny model spells 我想想 as strings of its own words (我现下九七下): long enough not to be a run-up, and with
  // a falling end it took 420-700 ms of silence for the end of turn. The date step's check says no day was said.
  const variables = { customer_name: '张先生', card_number: '6222020200112233', amount_due: '3580.5', due_date: '2024-05-10' };
  const yes = await pausedTurn(['是的'], 0);
  const { events, report } = await call([yes, yes, await pausedTurn(['我想想，', '下周还'], 900)], { flow: 'credit_card_overdue', variables });
  const detail = JSON.stringify({ turns: report.turns, events: events.filter((e) => e.type !== 'partial') });
  assert.ok(events.some((e) => e.type === 'bot' && e.text.includes('哪天还款')), `the date step was reached: ${detail}`);
  const turn = report.turns[2];
  assert.ok(turn, detail);
  assert.is(turn.botStartedDuringTurnMs, undefined, `the bot talked into the pause: ${detail}`);
  const understood = events.filter((e) => e.type === 'understood');
  assert.is(understood.at(-1)?.type === 'understood' ? understood.at(-1)!.intent : undefined, 'promise_date', detail);
  assert.not.ok(events.some((e) => e.type === 'turnContinued'), `one turn, not a cut taken back: ${detail}`);
});

test('an off-script answer gets its reply after the dynamic wait the cues chose', async () => {
  const offScript = await pausedTurn(['我想问一下你们这个服务是怎么收费的'], 0);
  const { events, report } = await call([offScript]);
  const detail = JSON.stringify({ turns: report.turns, finals: finals(events) });
  const f = finals(events).find((e) => e.text.trim() !== '');
  assert.ok(f, detail);
  assert.ok(f.waitMs !== undefined && f.cues !== undefined && f.cues.length > 0, `dynamic decision recorded: ${detail}`);
  assert.ok(f.waitMs >= 180 && f.waitMs <= 1200, detail);
  assert.ok(f.atMs - f.speechEndMs >= f.waitMs, `decided only after the chosen silence: ${detail}`);
  // The tiny model turns the unknown words into some in-vocabulary ones, which may contain an expected phrase, so
  // which cue decided is not asserted; that the decision waited its own chosen silence is.
  assert.is(report.turns[0]?.botStartedDuringTurnMs, undefined, detail);
  assert.ok(report.turns[0]?.latencyMs !== undefined, `the bot replied: ${detail}`);
});

test('a caller who goes on after a pause the bot took for the end (是的，…… 不需要) stops the answer and is answered on the whole turn', async () => {
  // 是的 answers the greeting's yes/no question: the expected-answer wait ends the turn in about 200 ms, and the
  // offer starts; 600 ms after 是的 the caller goes on, over the offer's first words.
  const { events, report } = await call([await pausedTurn(['是的，', '不需要'], 600)]);
  const detail = JSON.stringify({ turns: report.turns, events: events.filter((e) => e.type !== 'partial') });
  const heard = finals(events).filter((e) => e.text.trim() !== '');
  assert.is(heard.length, 2, `是的, then the words after the pause: ${detail}`);
  assert.ok(events.some((e) => e.type === 'bot' && e.text.includes('新的服务')), `the offer was the answer to 是的: ${detail}`);
  assert.ok(events.some((e) => e.type === 'bargeIn'), `the offer stopped: ${detail}`);
  const continued = events.find((e) => e.type === 'turnContinued');
  assert.ok(continued && continued.type === 'turnContinued' && continued.seq === 1, `taken as the same turn: ${detail}`);
  const understood = events.filter((e) => e.type === 'understood');
  assert.is(understood.at(-1)?.type === 'understood' ? understood.at(-1)!.intent : undefined, 'not_interested', detail);
  const lastBot = events.filter((e) => e.type === 'bot').at(-1);
  assert.ok(lastBot && lastBot.type === 'bot' && lastBot.text.includes('不打扰您了'), `answered on the whole turn: ${detail}`);
});

test.run();
