import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TurnLoop, type TurnSummary } from '../../src/dialog/turn-loop.ts';
import type { CallTimelineEvent } from '../../src/dialog/timeline.ts';
import type { BotAction } from '../../src/dialog/index.ts';
import { ListDialog, ScriptedLeg, ScriptedSpeech, ToneSpeaker, level, settle, silentLog } from './turn-loop-fakes.ts';

const config = {
  noInputTimeoutMs: 60_000,
  unrecognizedSpeechMs: 800,
  bargeIn: { enabled: true, minSpeechMs: 0, backchannels: ['嗯', '对', 'uh-huh'], backchannelsInterrupt: false, cancelEcho: false, continueTurnMs: 1000, waitOutCallerPauses: false },
};

function setup(actions: BotAction[], opts: { noInputTimeoutMs?: number; unrecognizedSpeechMs?: number; minSpeechMs?: number; promptFrames?: number; cancelEcho?: boolean } = {}) {
  const leg = new ScriptedLeg();
  const speech = new ScriptedSpeech();
  const speaker = new ToneSpeaker(opts.promptFrames);
  const dialog = new ListDialog(actions);
  const events: CallTimelineEvent[] = [];
  const turns: TurnSummary[] = [];
  const control = { hangups: 0, transfers: [] as string[] };
  let clock = 1000;
  const loop = new TurnLoop({
    leg,
    speech,
    speaker,
    dialog,
    lang: 'zh',
    config: {
      noInputTimeoutMs: opts.noInputTimeoutMs ?? config.noInputTimeoutMs,
      unrecognizedSpeechMs: opts.unrecognizedSpeechMs ?? config.unrecognizedSpeechMs,
      bargeIn: { ...config.bargeIn, minSpeechMs: opts.minSpeechMs ?? config.bargeIn.minSpeechMs, cancelEcho: opts.cancelEcho ?? false },
    },
    control: {
      hangup: async () => {
        control.hangups++;
        await leg.close({ code: 'bot_hangup' });
      },
      transfer: async (reason, notes) => {
        control.transfers.push(`${reason}|${notes}`);
        await leg.close({ code: 'transfer' });
      },
    },
    log: silentLog,
    onEvent: (e) => events.push(e),
    onTurn: (t) => turns.push(t),
    now: () => clock,
  });
  const advance = (ms: number) => (clock += ms);
  return { leg, speech, speaker, dialog, events, turns, control, loop, advance };
}

/** Caller frames and bot frames interleaved, 20 ms each, as on a real call. */
function run(s: ReturnType<typeof setup>, frames: number, callerLevel = 0): void {
  for (let i = 0; i < frames; i++) {
    s.advance(20);
    s.leg.caller(level(callerLevel));
    s.leg.tick();
  }
}

/**
 * A caller about 10 dB under the bot says 喂 over the greeting on a line without echo: as loud as the strongest echo
 * a line may return, so the guard, with no path learned yet, lets it pass on its assumption. `whileSpeaking` runs
 * just after the VAD's start. Returns when its final is in.
 */
function quietHelloOverGreeting(s: ReturnType<typeof setup>, whileSpeaking: () => void = () => {}): void {
  run(s, 6, 330);
  s.speech.start();
  whileSpeaking();
  run(s, 10, 330);
  s.speech.final('喂', s.speech.nowMs - 280);
}

// 0: the leg's frames are the wire's. 60: the PBX started playing 60 ms before the leg's first frame (an event read
// late, playoutLagMs), and the latency counts from the PBX's own start.
for (const lagMs of [0, 60]) {
  const name = lagMs === 0 ? 'greets, listens, answers the caller and measures latency from the end of speech' : `a leg whose frames trail the PBX by ${lagMs} ms (playoutLagMs): latency counts from the PBX's own start`;
  test(name, async () => {
    const s = setup([
      { kind: 'say', text: '您好' },
      { kind: 'say', text: '好的' },
    ]);
    const done = s.loop.run();
    await settle();
    assert.equal(s.speaker.spoken, ['您好']);
    run(s, 12);
    await settle();
    assert.is(s.loop.currentState, 'listening');
    s.speech.start();
    run(s, 10, 3000);
    s.speech.final('是的', 200);
    run(s, 3); // thinking takes three frames of wall time before the first bot frame
    if (lagMs > 0) s.leg.playoutLagMs = lagMs;
    await settle();
    run(s, 2);
    assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '是的' }]);
    assert.equal(s.speaker.spoken, ['您好', '好的']);
    const turn = s.turns[0]!;
    assert.is(turn.callerText, '是的');
    assert.is(turn.botText, '好的');
    assert.ok(turn.latencyMs !== undefined && turn.latencyMs >= 60 - lagMs && turn.latencyMs <= 120 - lagMs, `latency ${turn.latencyMs}`);
    assert.is(turn.bargeIn, false);
    await s.leg.close({ code: 'caller_hangup' });
    const result = await done;
    assert.is(result.disposition, 'caller_hangup');
    assert.is(result.endedBy, 'caller');
  });
}

test('barge-in flushes bot audio at speech start and the interrupting words become the next turn', async () => {
  const s = setup([
    { kind: 'say', text: '第一句话很长' },
    { kind: 'say', text: '好的我转人工' },
  ]);
  const done = s.loop.run();
  await settle();
  run(s, 1);
  run(s, 2, 3000); // the caller starts talking: two loud frames (minSpeechMs 0) pause the bot
  assert.is(s.leg.flushes, 1, 'flushed on the onset, before the VAD decides');
  s.speech.start();
  assert.is(s.leg.flushes, 1, 'the VAD start only confirms the pause');
  assert.is(s.leg.tick(), false, 'nothing left to play after the flush');
  const barge = s.events.find((e) => e.type === 'bargeIn');
  assert.ok(barge && barge.type === 'bargeIn' && Math.round(barge.heardMs) === 40, 'heard two frames');
  run(s, 5, 3000);
  s.speech.final('转人工');
  await settle();
  run(s, 1);
  assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '转人工' }]);
  assert.is(s.turns[0]!.bargeIn, true);
  assert.is(s.turns[0]!.heardMs, 40);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a backchannel pauses the prompt and then resumes it from where the caller stopped hearing', async () => {
  const s = setup([{ kind: 'say', text: '请您注意还款日期' }]);
  const done = s.loop.run();
  await settle();
  run(s, 2);
  run(s, 2, 3000);
  s.speech.start();
  assert.is(s.leg.flushes, 1);
  run(s, 3, 3000);
  s.speech.final('嗯');
  await settle();
  assert.ok(s.events.some((e) => e.type === 'resume' && e.reason === 'backchannel'));
  assert.is(s.dialog.inputs.length, 0, 'the dialog never saw the backchannel');
  let resumed = 0;
  while (s.leg.tick()) resumed++;
  assert.is(resumed, 7, 'the 7 unheard frames of the 10-frame prompt are played');
  await settle();
  assert.is(s.loop.currentState, 'listening');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('the bot hearing its own prompt back (echo) does not interrupt it once the echo path is learned', async () => {
  const s = setup([{ kind: 'say', text: '您好' }]);
  const done = s.loop.run();
  await settle();
  // The bot's audio on the wire, with a speech-like envelope, returns 60 ms later 26 dB down.
  const env = (i: number) => 1500 + 6000 * Math.abs(Math.sin(i * 0.7) * Math.cos(i * 0.23));
  for (let i = 0; i < 80; i++) {
    s.advance(20);
    s.leg.emit('played', level(env(i)));
    s.leg.caller(level(i >= 3 ? env(i - 3) * 0.05 : 0));
  }
  // Before the path was learned, the echo's first rise paused the prompt; the VAD heard no speech, so it went on.
  const early = s.events.filter((e) => e.type === 'bargeIn').length;
  assert.ok(early <= 1);
  if (early === 1) assert.ok(s.events.some((e) => e.type === 'resume' && e.reason === 'noise'));
  const flushesBefore = s.leg.flushes;
  s.speech.start(); // the VAD now takes the echo for speech
  assert.is(s.leg.flushes, flushesBefore, 'no barge-in on the echo');
  assert.ok(s.events.some((e) => e.type === 'echoIgnored'));
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

for (const cancelEcho of [false, true]) {
  test(`bargeIn.cancelEcho ${cancelEcho ? 'on: the VAD and ASR hear the caller side less the echo once the path is learned; a caller over it holds the bot before the VAD starts' : 'off: they hear the line as it is'}`, async () => {
    const s = setup([{ kind: 'say', text: '您好' }], { cancelEcho });
    const done = s.loop.run();
    await settle();
    // The bot's audio on the wire (noise with a speech-like envelope) returns 60 ms later, 10 dB down; the caller
    // says nothing.
    const env = (i: number) => 1500 + 6000 * Math.abs(Math.sin(i * 0.7) * Math.cos(i * 0.23));
    let seed = 1;
    const bot: Int16Array[] = [];
    /** Bot frame `i` leaves on the wire (20 ms later than the one before). */
    const botFrame = (i: number): void => {
      s.advance(20);
      const frame = new Int16Array(160);
      for (let j = 0; j < frame.length; j++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        frame[j] = Math.round((seed / 4294967296 - 0.5) * 2 * env(i));
      }
      bot.push(frame);
      s.leg.emit('played', frame);
    };
    const sentPeaks: number[] = [];
    for (let i = 0; i < 150; i++) {
      botFrame(i);
      const echo = i >= 3 ? bot[i - 3]!.map((x) => Math.round(x * 0.316)) : new Int16Array(160);
      sentPeaks.push(Math.max(...echo.map(Math.abs)));
      s.leg.caller(echo);
    }
    const heardPeaks = s.speech.heardPeaks.slice(-150);
    const lastSecond = (xs: number[]) => xs.slice(-50).reduce((a, b) => a + b, 0);
    if (cancelEcho) assert.ok(lastSecond(heardPeaks) < lastSecond(sentPeaks) * 0.1, `echo left ${lastSecond(heardPeaks)} of ${lastSecond(sentPeaks)}`);
    else assert.equal(heardPeaks, sentPeaks);
    if (cancelEcho) {
      // The caller starts over the echo, louder than it can be. With the echo cancelled the VAD was not in speech
      // on it, so it cannot stand in for the onset the echo hides: the bot is held on the frames themselves.
      const flushesBefore = s.leg.flushes;
      for (let i = 150; i < 154; i++) {
        botFrame(i);
        const caller = bot[i - 3]!.map((x, j) => Math.round(x * 0.316 + 12000 * Math.sin((2 * Math.PI * 300 * (i * 160 + j)) / 8000)));
        s.leg.caller(caller);
      }
      assert.is(s.speech.speaking, false, 'the VAD has not started');
      assert.ok(s.leg.flushes > flushesBefore, 'held on the caller over the echo');
    }
    await s.leg.close({ code: 'caller_hangup' });
    await done;
  });
}

test('a caller talking over the echo while the VAD is already in speech (on the echo) is held until the transcript decides', async () => {
  const s = setup([{ kind: 'say', text: '您好' }, { kind: 'say', text: '好的' }], { minSpeechMs: 0 });
  const done = s.loop.run();
  await settle();
  run(s, 6, 330); // the prompt's echo, 10 dB down
  s.speech.start(); // the VAD takes the echo for speech; the guard calls it echo
  assert.is(s.leg.flushes, 0);
  assert.ok(s.events.some((e) => e.type === 'echoIgnored'));
  run(s, 2, 3000); // the caller, louder than any echo: the bot pauses; no new VAD start will come
  assert.is(s.leg.flushes, 1);
  run(s, 20, 3000); // the caller talks on, the VAD still in the utterance the echo began
  s.speech.speaking = false; // the VAD's end; the endpointer waits for the end of the turn
  run(s, 15); // past HOLD_CONFIRM_MS since the hold, no transcript yet
  assert.not.ok(s.events.some((e) => e.type === 'resume'), 'not resumed as noise: the VAD was in speech at the hold');
  s.speech.final('转人工', 0);
  await settle();
  assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '转人工' }]);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a final the echo guard marked as the bot\'s own echo is not a turn, whatever its text', async () => {
  const s = setup([{ kind: 'say', text: '您好，请问您现在方便吗' }, { kind: 'say', text: '好的' }], { noInputTimeoutMs: 10_000 });
  const done = s.loop.run();
  await settle();
  while (s.leg.tick()) s.advance(20);
  await settle();
  assert.is(s.loop.currentState, 'listening', 'the prompt played out');
  // With speech.asr.skipEcho off the echo's tail is decoded, and its final comes after the prompt ended.
  s.speech.emit('final', { text: '请问您现在方便吗', speechStartMs: 0, speechEndMs: s.speech.nowMs, atMs: s.speech.nowMs, earlyEndpoint: false, botEcho: true });
  await settle();
  assert.equal(s.dialog.inputs, [], 'the dialog never saw it');
  assert.is(s.loop.currentState, 'listening');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('speech the echo guard let pass before it learned any path is the caller\'s turn when its final comes (a quiet 喂 over the greeting)', async () => {
  const s = setup([{ kind: 'say', text: '您好，这里是信用卡中心' }, { kind: 'say', text: '好的' }], { promptFrames: 100 });
  const done = s.loop.run();
  await settle();
  // The guard, with no path learned yet, does not let the quiet caller stop the bot...
  quietHelloOverGreeting(s, () => {
    assert.is(s.leg.flushes, 0, 'no barge-in on the assumption');
    assert.ok(s.events.some((e) => e.type === 'echoIgnored'));
    assert.is(s.loop.currentState, 'botSpeaking');
  });
  await settle();
  // ...but nothing showed it was echo (the final is not marked botEcho, and the line shows no path while the bot
  // talks on): it is the caller's, never dropped. The loop waits for the line to show it first.
  assert.is(s.leg.flushes, 0, 'not yet: the guard has not had a second of bot talk to learn from');
  run(s, 65);
  await settle();
  assert.is(s.leg.flushes, 1, 'the bot stops');
  assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '喂' }]);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a final of the greeting\'s echo heard before the path is learned is dropped once the line shows the path', async () => {
  const s = setup([{ kind: 'say', text: '您好' }], { promptFrames: 150 });
  const done = s.loop.run();
  await settle();
  // The bot's audio on the wire, with a speech-like envelope, returns 60 ms later 10 dB down.
  const env = (i: number) => 1500 + 6000 * Math.abs(Math.sin(i * 0.7) * Math.cos(i * 0.23));
  let i = 0;
  const play = (frames: number): void => {
    for (const end = i + frames; i < end; i++) {
      s.advance(20);
      s.leg.emit('played', level(env(i)));
      s.leg.caller(level(i >= 3 ? env(i - 3) * 0.32 : 0));
    }
  };
  play(8);
  s.speech.start(); // the VAD takes the echo's first rise for speech
  play(20);
  s.speech.final('你好', s.speech.nowMs - 500); // its final comes before the guard has learned anything
  await settle();
  play(80);
  await settle();
  assert.is(s.leg.flushes, 0, 'the bot was never stopped');
  assert.equal(s.dialog.inputs, [], 'the echo was no turn');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a call ending while a final let pass as echo waits for the line keeps those words as the caller\'s turn', async () => {
  const s = setup([{ kind: 'say', text: '您好，这里是信用卡中心' }], { promptFrames: 100 });
  const done = s.loop.run();
  await settle();
  quietHelloOverGreeting(s);
  await settle();
  assert.equal(s.turns, [], 'still waiting for the line');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
  assert.equal(s.turns.map((t) => t.callerText), ['喂']);
});

test('loud caller speech over the bot is not mistaken for echo', async () => {
  const s = setup([{ kind: 'say', text: '您好' }]);
  const done = s.loop.run();
  await settle();
  for (let i = 0; i < 6; i++) {
    s.advance(20);
    s.leg.tick();
    s.leg.caller(level(4000));
  }
  s.speech.start();
  assert.is(s.leg.flushes, 1);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('loud caller audio shorter than bargeIn.minSpeechMs does not pause the bot; longer audio does', async () => {
  const s = setup([{ kind: 'say', text: '您好' }], { minSpeechMs: 100 });
  const done = s.loop.run();
  await settle();
  run(s, 1);
  run(s, 4, 3000);
  assert.is(s.leg.flushes, 0, '80 ms of sound is not enough');
  run(s, 1, 3000);
  assert.is(s.leg.flushes, 1, 'after 100 ms the bot pauses, before any VAD decision');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a pause on loud frames that the VAD never confirms as speech resumes the prompt (noise)', async () => {
  const s = setup([{ kind: 'say', text: '很长的一句话' }]);
  const done = s.loop.run();
  await settle();
  run(s, 1);
  run(s, 3, 3000); // a door slams
  assert.is(s.leg.flushes, 1);
  run(s, 25); // 500 ms: not yet
  assert.not.ok(s.events.some((e) => e.type === 'resume'));
  run(s, 6);
  assert.ok(s.events.some((e) => e.type === 'resume' && e.reason === 'noise'));
  assert.ok(s.leg.tick(), 'the rest of the prompt plays again');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a short answer that also appears in the prompt is a barge-in, not echo', async () => {
  const s = setup([{ kind: 'say', text: '可以回答是的或者不是' }, { kind: 'say', text: '好的' }]);
  const done = s.loop.run();
  await settle();
  run(s, 1);
  run(s, 3, 3000);
  s.speech.start();
  run(s, 5, 3000);
  s.speech.final('是的');
  await settle();
  assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '是的' }]);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('no input after a prompt gives the dialog a noInput turn', async () => {
  const s = setup([{ kind: 'say', text: '您好' }, { kind: 'end', disposition: 'no_answer_from_caller' }], { noInputTimeoutMs: 30 });
  const done = s.loop.run();
  await settle();
  run(s, 12);
  await settle(60);
  assert.equal(s.dialog.inputs, [{ kind: 'noInput' }]);
  const result = await done;
  assert.is(result.disposition, 'no_answer_from_caller');
  assert.is(s.control.hangups, 1);
});

test('speech the recognizer made nothing of is a turn with no text (no-match); a short sound, or the prompt\'s tail, is none', async () => {
  // A greeting the caller may not interrupt: speech under it is heard out, and its final comes after the prompt.
  const s = setup([{ kind: 'say', text: '您好', bargeIn: false }, { kind: 'say', text: '不好意思，我没有听清楚。' }, { kind: 'end', disposition: 'no_answer_from_caller' }], { noInputTimeoutMs: 1000 });
  const done = s.loop.run();
  await settle();
  // Speech from before the prompt ended (its echo tail, or the caller over its last words): no turn.
  run(s, 6);
  s.speech.start();
  const tailStart = s.speech.nowMs;
  run(s, 10, 3000);
  await settle();
  run(s, 40, 3000);
  s.speech.final('', tailStart);
  await settle();
  assert.equal(s.dialog.inputs, [], 'no turn for speech begun under the prompt');
  // A cough: 300 ms, nothing recognized.
  run(s, 5);
  s.speech.start();
  const coughStart = s.speech.nowMs;
  run(s, 15, 3000);
  s.speech.final('', coughStart);
  await settle();
  assert.equal(s.dialog.inputs, [], 'no turn for a short sound');
  // 1.2 s of speech, nothing recognized: the dialog hears the caller spoke.
  run(s, 5);
  s.speech.start();
  const spokeAt = s.speech.nowMs;
  run(s, 60, 3000);
  s.speech.final('', spokeAt);
  await settle();
  run(s, 3);
  await settle();
  assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '' }]);
  assert.equal(s.speaker.spoken, ['您好', '不好意思，我没有听清楚。']);
  assert.is(s.turns[0]!.callerText, '');
  assert.is(s.turns[0]!.inputKind, 'speech');
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('with dialog.unrecognizedSpeechMs 0, speech the recognizer made nothing of is no turn: the no-input timeout runs', async () => {
  const s = setup([{ kind: 'say', text: '您好' }, { kind: 'end', disposition: 'no_answer_from_caller' }], { noInputTimeoutMs: 30, unrecognizedSpeechMs: 0 });
  const done = s.loop.run();
  await settle();
  run(s, 12);
  s.speech.start();
  const spokeAt = s.speech.nowMs;
  run(s, 60, 3000);
  s.speech.final('', spokeAt);
  await settle(60);
  assert.equal(s.dialog.inputs, [{ kind: 'noInput' }]);
  await done;
});

test('DTMF digits are collected until # and interrupt the prompt', async () => {
  const s = setup([{ kind: 'say', text: '请按键' }, { kind: 'transfer', reason: 'caller pressed 0', text: '正在转接' }]);
  const done = s.loop.run();
  await settle();
  run(s, 2);
  s.leg.emit('dtmf', '1');
  assert.is(s.leg.flushes, 1, 'DTMF barges in');
  s.leg.emit('dtmf', '2');
  s.leg.emit('dtmf', '#');
  await settle();
  assert.equal(s.dialog.inputs, [{ kind: 'dtmf', digits: '12' }]);
  run(s, 12);
  const result = await done;
  assert.is(result.disposition, 'transferred');
  assert.is(s.control.transfers.length, 1);
  assert.match(s.control.transfers[0]!, /caller \(dtmf\): 12/);
});

test('an end action speaks its last words without barge-in, then hangs up', async () => {
  const s = setup([{ kind: 'end', text: '再见', disposition: 'promised_to_pay' }]);
  const done = s.loop.run();
  await settle();
  run(s, 2);
  s.speech.start();
  assert.is(s.leg.flushes, 0, 'goodbye is not interruptible');
  run(s, 12);
  const result = await done;
  assert.is(result.disposition, 'promised_to_pay');
  assert.is(result.endedBy, 'bot');
  assert.is(s.control.hangups, 1);
});

test('a barge-in whose utterance is still open when the hold gives up keeps the bot silent: the caller is between two clauses', async () => {
  // Two calls held at once: `open` with the caller's utterance still open (a pause at a comma), `control` with none
  // open. The hold's give-up runs on the wall clock (a line whose audio stopped must give up too), and timers of one
  // delay fire in the order they were set: once the control has resumed, the open call's give-up has run as well,
  // however late a busy machine ran it.
  const hold = async (openUtterance: boolean) => {
    const s = setup([
      { kind: 'say', text: '好的。我们本周有一个新的账单提醒服务' },
      { kind: 'say', text: '这个问题我记下了' },
    ], { promptFrames: 400 });
    const done = s.loop.run();
    await settle();
    run(s, 2);
    run(s, 3, 3000); // 那我需要准备什么材料吗，
    s.speech.start();
    run(s, 40, 3000);
    s.speech.pauseVoice(); // the VAD's end at the comma; the endpointer keeps the utterance open
    if (!openUtterance) s.speech.busy = false;
    run(s, 10);
    return { s, done, resumed: () => s.events.some((e) => e.type === 'resume') };
  };
  const open = await hold(true);
  const control = await hold(false);
  for (let waited = 0; waited < 20_000 && !control.resumed(); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(control.resumed(), 'no utterance open: noise, the prompt resumes (else this tests nothing)');
  assert.not.ok(open.resumed(), 'the prompt stayed held while the utterance was open');
  assert.is(open.s.leg.tick(), false, 'nothing played over the caller');
  open.s.speech.start(); // 要不要带身份证
  run(open.s, 30, 3000);
  open.s.speech.final('那我需要准备什么材料吗要不要带身份证');
  await settle();
  assert.equal(open.s.dialog.inputs, [{ kind: 'speech', text: '那我需要准备什么材料吗要不要带身份证' }]);
  for (const { s, done } of [open, control]) {
    await s.leg.close({ code: 'caller_hangup' });
    await done;
  }
});

/** Holds the prompt on a loud onset the VAD does not confirm in time, so it resumes as noise (issue 8, item 10). */
async function holdThenResume(s: ReturnType<typeof setup>): Promise<number> {
  run(s, 2);
  const onsetMs = s.speech.nowMs;
  run(s, 3, 3000);
  assert.is(s.leg.flushes, 1, 'held');
  run(s, 32);
  assert.ok(s.events.some((e) => e.type === 'resume' && e.reason === 'noise'), 'resumed before the transcript came');
  return onsetMs;
}

test('a late final after the prompt resumed from a hold stops the bot and takes the turn (转人工 transfers)', async () => {
  const s = setup([
    { kind: 'say', text: '请您注意还款日期' },
    { kind: 'transfer', text: '正在为您转接', reason: 'human' },
  ]);
  const done = s.loop.run();
  await settle();
  const onsetMs = await holdThenResume(s);
  const flushes = s.leg.flushes;
  s.speech.final('转人工没有', onsetMs);
  await settle();
  assert.is(s.leg.flushes, flushes + 1, 'the resumed prompt is stopped');
  assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '转人工没有' }], 'the dialog got the late words');
  run(s, 20);
  await settle();
  const result = await done;
  assert.is(result.disposition, 'transferred');
  assert.is(s.control.transfers.length, 1);
  assert.ok(s.turns.some((t) => t.callerText === '转人工没有' && t.bargeIn));
});

test('a late backchannel after a resumed hold, or speech from before the hold, does not stop the bot', async () => {
  const s = setup([{ kind: 'say', text: '请您注意还款日期' }]);
  const done = s.loop.run();
  await settle();
  const onsetMs = await holdThenResume(s);
  const flushes = s.leg.flushes;
  s.speech.final('嗯嗯', onsetMs);
  s.speech.final('转人工', onsetMs - 2000);
  await settle();
  assert.is(s.leg.flushes, flushes, 'the prompt plays on');
  assert.is(s.dialog.inputs.length, 0);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test('a chained backchannel (对对对) resumes the prompt; a short Chinese request (不对) does not', async () => {
  const s = setup([{ kind: 'say', text: '请您注意还款日期' }, { kind: 'say', text: '好的' }]);
  const done = s.loop.run();
  await settle();
  run(s, 2);
  run(s, 2, 3000);
  s.speech.start();
  run(s, 3, 3000);
  s.speech.final('对对对');
  await settle();
  assert.ok(s.events.some((e) => e.type === 'resume' && e.reason === 'backchannel'));
  run(s, 1, 3000);
  s.speech.start();
  run(s, 3, 3000);
  s.speech.final('不对');
  await settle();
  assert.equal(s.dialog.inputs, [{ kind: 'speech', text: '不对' }]);
  await s.leg.close({ code: 'caller_hangup' });
  await done;
});

test.run();
