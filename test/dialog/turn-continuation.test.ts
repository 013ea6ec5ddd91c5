import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TurnLoop, type TurnSummary } from '../../src/dialog/turn-loop.ts';
import type { CallTimelineEvent } from '../../src/dialog/timeline.ts';
import type { TurnInput } from '../../src/dialog/index.ts';
import type { TurnContext } from '../../src/speech/index.ts';
import { consentSession } from './fixtures/consent-flow.ts';
import { ScriptedLeg, ScriptedSpeech, ToneSpeaker, level, settle, silentLog } from './turn-loop-fakes.ts';

// The caller goes on with a turn after a pause the bot took for its end (是的，…… 哦不对，我不同意).

/** The listening side, keeping each turn context the loop sets (what the endpointer would get). */
class ContextSpeech extends ScriptedSpeech {
  readonly contexts: TurnContext[] = [];
  setTurnContext(context: TurnContext): void {
    this.contexts.push(context);
    this.setExpected([...context.phrases]);
  }
}

/** A decision held until the test releases it: a dialog step that waits on a webhook or the LLM. */
class Gate {
  private releases: Array<() => void> = [];
  /** How many more decisions to hold. */
  holds = 0;
  pass(): Promise<void> {
    if (this.holds === 0) return Promise.resolve();
    this.holds--;
    return new Promise<void>((resolve) => this.releases.push(resolve));
  }
  get waiting(): number {
    return this.releases.length;
  }
  release(): void {
    this.releases.shift()?.();
  }
}

function setup(opts: { continueTurnMs?: number; doNotCall?: boolean; waitOutCallerPauses?: boolean; minSpeechMs?: number } = {}) {
  const leg = new ScriptedLeg();
  const speech = new ContextSpeech();
  const speaker = new ToneSpeaker(50); // 1 s prompts
  const recorded: string[] = [];
  const dialog = consentSession(opts.doNotCall ? { doNotCall: async (r) => void recorded.push(r.words) } : {});
  const inputs: TurnInput[] = [];
  const gate = new Gate();
  const next = dialog.next.bind(dialog);
  dialog.next = async (input) => {
    inputs.push(input);
    await gate.pass();
    return next(input);
  };
  const begin = dialog.begin.bind(dialog);
  dialog.begin = async () => {
    await gate.pass();
    return begin();
  };
  const revised: TurnInput[] = [];
  const revise = dialog.revise.bind(dialog);
  dialog.revise = (input) => (revised.push(input), revise(input));
  const events: CallTimelineEvent[] = [];
  const turns: TurnSummary[] = [];
  const control = { hangups: 0 };
  let clock = 1000;
  const loop = new TurnLoop({
    leg,
    speech,
    speaker,
    dialog,
    lang: 'zh',
    config: {
      noInputTimeoutMs: 60_000,
      unrecognizedSpeechMs: 800,
      bargeIn: { enabled: true, minSpeechMs: opts.minSpeechMs ?? 0, backchannels: ['嗯', '对'], backchannelsInterrupt: false, cancelEcho: false, continueTurnMs: opts.continueTurnMs ?? 1000, waitOutCallerPauses: opts.waitOutCallerPauses ?? false },
    },
    control: {
      hangup: async () => {
        control.hangups++;
        await leg.close({ code: 'bot_hangup' });
      },
      transfer: async () => {},
    },
    log: silentLog,
    onEvent: (e) => events.push(e),
    onTurn: (t) => turns.push(t),
    now: () => clock,
  });
  const advance = (ms: number) => (clock += ms);
  return { leg, speech, speaker, dialog, inputs, revised, recorded, events, turns, control, loop, advance, gate };
}

type Setup = ReturnType<typeof setup>;

/** Caller frames and bot frames interleaved, 20 ms each. */
function run(s: Setup, frames: number, callerLevel = 0): void {
  for (let i = 0; i < frames; i++) {
    s.advance(20);
    s.leg.caller(level(callerLevel));
    s.leg.tick();
  }
}

/** Plays the greeting out, then the caller says `text` (200 ms) and stops: the final comes at once. */
async function answerGreeting(s: Setup, text: string): Promise<void> {
  await settle();
  run(s, 55);
  await settle();
  assert.is(s.loop.currentState, 'listening');
  s.speech.start();
  run(s, 10, 3000);
  s.speech.final(text, s.speech.nowMs - 200);
  await settle();
}

/** The caller speaks again after `silentFrames` of the answer, and their words' final comes. */
async function goOn(s: Setup, silentFrames: number, text: string): Promise<void> {
  run(s, silentFrames);
  const startMs = s.speech.nowMs;
  run(s, 2, 3000);
  s.speech.start();
  run(s, 10, 3000);
  s.speech.final(text, startMs);
  await settle();
}

test('words soon after the answer began go on with the turn: the answer stops and the whole turn is decided again', async () => {
  const s = setup();
  const done = s.loop.run();
  await answerGreeting(s, '是的');
  assert.equal(s.speaker.spoken.slice(1), ['好的，已为您登记。您看哪天方便？']);
  await goOn(s, 15, '哦不对，我不同意');
  assert.equal(s.revised, [{ kind: 'speech', text: '是的，哦不对，我不同意' }]);
  assert.is(s.inputs.length, 2, 'next() once for the first words, once again inside revise()');
  assert.equal(s.speaker.spoken.slice(2), ['好的，不打扰您了，再见。']);
  const continued = s.events.find((e) => e.type === 'turnContinued');
  assert.equal(continued && continued.type === 'turnContinued' ? [continued.seq, continued.text] : undefined, [1, '是的，哦不对，我不同意']);
  while (s.leg.tick()) await settle(0);
  await done;
  assert.is(s.control.hangups, 1);
  assert.is(s.turns.length, 2);
  assert.equal([s.turns[1]!.continuesSeq, s.turns[1]!.callerText, s.turns[1]!.intent, s.turns[1]!.bargeIn], [1, '哦不对，我不同意', 'no', true]);
  assert.is(s.turns[0]!.intent, 'yes', 'the first turn is stored as it was answered');
  assert.is(s.dialog.variables().disposition, 'declined');
  assert.is(s.dialog.variables().consent, undefined, 'what the withdrawn answer set is undone');
});

test('a goodbye, never cut otherwise, stops for a caller going on with the turn it answers', async () => {
  const s = setup();
  const done = s.loop.run();
  await answerGreeting(s, '不是');
  assert.equal(s.speaker.spoken.slice(1), ['好的，不打扰您了，再见。']);
  await goOn(s, 10, '我同意');
  assert.equal(s.revised, [{ kind: 'speech', text: '不是，我同意' }]);
  assert.is(s.control.hangups, 0, 'the call goes on');
  // A yes after a no is no clear consent: the step asks again, which beats hanging up on a caller who agreed.
  assert.equal(s.speaker.spoken.slice(2), ['不好意思？请问您同意办理吗？']);
  assert.is(s.loop.currentState, 'botSpeaking');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a backchannel word going on with the turn is words (那个，…… 对), not an acknowledgement of the answer', async () => {
  const s = setup();
  const done = s.loop.run();
  await answerGreeting(s, '那个');
  assert.equal(s.speaker.spoken.slice(1), ['不好意思？请问您同意办理吗？']);
  await goOn(s, 5, '对');
  assert.equal(s.revised, [{ kind: 'speech', text: '那个，对' }]);
  assert.not.ok(s.events.some((e) => e.type === 'resume'));
  assert.equal(s.speaker.spoken.slice(2), ['好的，已为您登记。您看哪天方便？']);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

for (const [name, silentFrames, continueTurnMs] of [
  ['words after 0.8 s of the answer answer it: a turn of their own', 40, 1000],
  ['with continueTurnMs 0 a barge-in is always a turn of its own', 5, 0],
] as const) {
  test(name, async () => {
    const s = setup({ continueTurnMs });
    const done = s.loop.run();
    await answerGreeting(s, '是的');
    await goOn(s, silentFrames, '明天吧');
    assert.equal(s.revised, []);
    assert.equal(s.inputs.at(-1), { kind: 'speech', text: '明天吧' });
    assert.equal(s.speaker.spoken.slice(2), ['好的，再见。']);
    run(s, 1);
    assert.is(s.turns.length, 2);
    assert.is(s.turns[1]!.continuesSeq, undefined);
    await s.leg.close({ code: 'caller_hangup' });
    await done;
  });
}

test('speech long after the caller stopped is no continuation, and a goodbye is not cut for it', async () => {
  const s = setup();
  const done = s.loop.run();
  await answerGreeting(s, '不是');
  // The goodbye starts 1.2 s after the caller stopped (a slow dialog): whatever the caller says over it is not the same turn.
  s.advance(1200);
  for (let i = 0; i < 60; i++) s.speech.push(level(0));
  await goOn(s, 2, '我同意');
  assert.equal(s.revised, []);
  assert.is(s.inputs.length, 1);
  while (s.leg.tick()) await settle(0);
  await done;
  assert.is(s.control.hangups, 1);
});

test('an answer that reached the do-not-call ledger is not taken back: its goodbye plays out and the call ends', async () => {
  const s = setup({ doNotCall: true });
  const done = s.loop.run();
  await answerGreeting(s, '别再打了');
  assert.equal(s.recorded, ['别再打了']);
  await goOn(s, 5, '算了你说吧');
  assert.equal(s.revised, []);
  assert.is(s.inputs.length, 1);
  assert.ok(!s.events.some((e) => e.type === 'bargeIn'), 'the goodbye was not held');
  while (s.leg.tick()) await settle(0);
  await done;
  assert.is(s.control.hangups, 1);
});

/** As answerGreeting, with the dialog's decision on the answer held until the test releases it. */
async function answerGreetingHeld(s: Setup, text: string): Promise<void> {
  // The greeting's own decision (begin) passes first.
  await settle();
  s.gate.holds = 1;
  await answerGreeting(s, text);
}

/** The caller says `text` (200 ms of speech after `silentFrames`) while the dialog is still deciding. */
async function sayWhileDeciding(s: Setup, silentFrames: number, text: string): Promise<void> {
  run(s, silentFrames);
  s.speech.start();
  run(s, 10, 3000);
  s.speech.final(text, s.speech.nowMs - 200);
  await settle();
}

test('words said while the dialog is still deciding go on with the turn: the first answer never plays, the whole turn is answered', async () => {
  const s = setup({ waitOutCallerPauses: true });
  const done = s.loop.run();
  await answerGreetingHeld(s, '是的');
  assert.is(s.gate.waiting, 1, 'the dialog is deciding on 是的');
  assert.is(s.loop.currentState, 'thinking');
  await sayWhileDeciding(s, 15, '哦不对，我不同意');
  await sayWhileDeciding(s, 5, '别登记');
  assert.equal(s.speaker.spoken.length, 1, 'nothing answered yet');
  s.gate.release();
  await settle();
  assert.equal(s.revised, [{ kind: 'speech', text: '是的，哦不对，我不同意，别登记' }]);
  assert.equal(s.speaker.spoken.slice(1), ['好的，不打扰您了，再见。'], 'the answer to 是的 alone never played');
  const continued = s.events.find((e) => e.type === 'turnContinued');
  assert.equal(continued && continued.type === 'turnContinued' ? [continued.seq, continued.text] : undefined, [1, '是的，哦不对，我不同意，别登记']);
  assert.ok(s.speech.contexts.at(-1)!.callerPauseMs! >= 300, 'the pause inside the turn is waited out from now on');
  while (s.leg.tick()) await settle(0);
  await done;
  assert.is(s.turns.length, 2);
  assert.equal([s.turns[0]!.seq, s.turns[0]!.callerText, s.turns[0]!.botText], [1, '是的', ''], 'the first words are stored, without an answer');
  assert.equal([s.turns[1]!.continuesSeq, s.turns[1]!.callerText, s.turns[1]!.intent, s.turns[1]!.botText], [1, '哦不对，我不同意，别登记', 'no', '好的，不打扰您了，再见。']);
  assert.is(s.dialog.variables().consent, undefined, 'what 是的 alone set is undone');
  assert.is(s.control.hangups, 1);
});

test('words said while the dialog decides on an answer that reached the do-not-call ledger: that answer plays, the words are stored unanswered', async () => {
  const s = setup({ doNotCall: true });
  const done = s.loop.run();
  await answerGreetingHeld(s, '别再打了');
  await sayWhileDeciding(s, 10, '算了你说吧');
  s.gate.release();
  await settle();
  assert.equal(s.recorded, ['别再打了']);
  assert.equal(s.revised, []);
  assert.is(s.inputs.length, 1, 'the later words did not go to the dialog');
  while (s.leg.tick()) await settle(0);
  await done;
  assert.is(s.control.hangups, 1);
  assert.equal(s.turns.map((t) => [t.seq, t.callerText, t.botText === '' ? 'unanswered' : 'answered']), [[2, '算了你说吧', 'unanswered'], [1, '别再打了', 'answered']]);
});

test('words said while the greeting is still being decided are stored unanswered, and the greeting plays', async () => {
  const s = setup();
  s.gate.holds = 1;
  const done = s.loop.run();
  await settle();
  assert.is(s.loop.currentState, 'thinking');
  await sayWhileDeciding(s, 5, '喂');
  s.gate.release();
  await settle();
  assert.is(s.speaker.spoken.length, 1, 'the greeting plays');
  assert.equal(s.turns.map((t) => [t.seq, t.callerText, t.botText]), [[1, '喂', '']]);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a soft onset the VAD reports late is judged on what the caller had heard when they began', async () => {
  // An onset needs 2 s of loud frames here: only the VAD's start can stop the bot.
  const s = setup({ minSpeechMs: 2000 });
  const done = s.loop.run();
  await answerGreeting(s, '是的');
  // 0.5 s of the answer plays, then the caller speaks; the VAD says so 0.3 s later.
  run(s, 25);
  run(s, 15, 3000);
  s.speech.speaking = true;
  s.speech.emit('speechStart', { atMs: s.speech.nowMs - 300 });
  assert.ok(s.events.some((e) => e.type === 'bargeIn'), 'the answer stopped');
  run(s, 10, 3000);
  s.speech.final('哦不对，我不同意', s.speech.nowMs - 500);
  await settle();
  assert.equal(s.revised, [{ kind: 'speech', text: '是的，哦不对，我不同意' }]);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

for (const waitOut of [false, true]) {
  test(`waitOutCallerPauses ${waitOut ? 'on: after a continuation the caller\'s pause is the shortest silence that ends their turns' : 'off: the turn context says nothing of pauses'}`, async () => {
    const s = setup({ waitOutCallerPauses: waitOut });
    const done = s.loop.run();
    await answerGreeting(s, '是的');
    assert.is(s.speech.contexts.at(-1)?.callerPauseMs, undefined, 'nothing learned before a continuation');
    assert.is(s.speech.contexts.at(-1)?.lang, 'zh', 'the endpointer knows the call\'s language');
    await goOn(s, 15, '哦不对，我不同意');
    assert.equal(s.revised.length, 1);
    // 15 silent frames between the end of 是的 and the words after the pause.
    assert.is(s.speech.contexts.at(-1)?.callerPauseMs, waitOut ? 300 : undefined);
    await s.leg.close({ code: 'caller_hangup' });
    await done;
  });
}

test.run();
