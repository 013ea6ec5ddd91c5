import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AMD_RULES,
  BeepDetector,
  matchRules,
  PROGRESS_RULES,
  spokenUnits,
  ToneDetector,
  type BeepEvent,
  type ToneEvent,
} from '../../src/speech/call-progress/index.ts';
import { progressFromCause } from '../../src/core/index.ts';
import {
  ANNOUNCEMENTS,
  chinaBusy,
  chinaCongestion,
  chinaRingback,
  colourRingback,
  concat,
  frames,
  LineVoice,
  silence,
  tone,
} from '../support/progress-audio.ts';

const voice = new LineVoice();
test.after(() => voice.close());

function runTones(pcm: Int16Array): ToneEvent[] {
  const det = new ToneDetector({ sampleRate: 8000 });
  const events: ToneEvent[] = [];
  for (const f of frames(pcm)) {
    const e = det.push(f);
    if (e) events.push(e);
  }
  return events;
}

function runBeeps(pcm: Int16Array): BeepEvent[] {
  const det = new BeepDetector({ sampleRate: 8000 });
  const events: BeepEvent[] = [];
  for (const f of frames(pcm)) {
    const e = det.push(f);
    if (e) events.push(e);
  }
  return events;
}

test('China busy tone (450 Hz 350/350) is busy within two cycles', () => {
  const events = runTones(concat([silence(300), chinaBusy(4000)]));
  assert.ok(events.length > 0, 'no tone recognised');
  assert.is(events[0]!.tone, 'busy');
  assert.ok(events[0]!.atMs <= 300 + 2 * 700 + 400, `busy recognised late: ${events[0]!.atMs} ms`);
  assert.ok(events.every((e) => e.tone === 'busy'));
});

test('China congestion tone (700/700) is congestion, not busy', () => {
  const events = runTones(concat([silence(200), chinaCongestion(5000)]));
  assert.ok(events.length > 0);
  assert.is(events[0]!.tone, 'congestion');
  assert.ok(events.every((e) => e.tone === 'congestion'), JSON.stringify(events));
});

test('China ringback (1 s on / 4 s off) is ringback after one cycle and never busy', () => {
  const events = runTones(concat([silence(100), chinaRingback(10_000)]));
  assert.ok(events.length > 0);
  assert.ok(events.every((e) => e.tone === 'ringback'), JSON.stringify(events));
  assert.ok(events[0]!.atMs >= 4000 && events[0]!.atMs <= 5000, `at ${events[0]!.atMs}`);
});

test('speech, colour ringback music and a 1 kHz tone are not progress tones', async () => {
  const speech = await voice.say(ANNOUNCEMENTS.powered_off);
  assert.equal(runTones(concat([speech, silence(4000), speech])), []);
  assert.equal(runTones(colourRingback(8000)), []);
  assert.equal(runTones(concat([tone(1000, 350), silence(350), tone(1000, 350), silence(350), tone(1000, 350), silence(350)])), []);
});

test('a voicemail beep after a greeting is found where it is; speech alone has none', async () => {
  const greeting = await voice.say('您好，请在提示音后留言');
  const pcm = concat([greeting, silence(400), tone(1000, 400, 0.4), silence(500)]);
  const events = runBeeps(pcm);
  assert.is(events.length, 1, JSON.stringify(events));
  const expectedStart = ((greeting.length / 8000) * 1000) + 400;
  assert.ok(Math.abs(events[0]!.startMs - expectedStart) <= 40, `beep at ${events[0]!.startMs}, expected ${expectedStart}`);
  assert.is(events[0]!.frequency, 1000);
  for (const text of [ANNOUNCEMENTS.invalid_number, '喂，你好', 'Hi, you have reached John, leave a message']) {
    assert.equal(runBeeps(await voice.say(text, /[a-z]/i.test(text) ? 'en' : 'zh')), [], text);
  }
});

test('announcement keyword rules: every Chinese announcement and its English equivalent', () => {
  const zh: Array<[string, string]> = [
    [ANNOUNCEMENTS.invalid_number, 'invalid_number'],
    [ANNOUNCEMENTS.powered_off, 'powered_off'],
    [ANNOUNCEMENTS.suspended, 'suspended'],
    [ANNOUNCEMENTS.busy, 'busy'],
    [ANNOUNCEMENTS.unreachable, 'unreachable'],
    [ANNOUNCEMENTS.out_of_service_area, 'unreachable'],
    ['对不起，您拨打的电话已欠费停机', 'suspended'],
    ['您 拨打 的 电话 已 关机 ， 请 稍后 再拨', 'powered_off'],
  ];
  for (const [text, kind] of zh) assert.is(matchRules(text, 'zh', PROGRESS_RULES)?.kind, kind, text);
  const en: Array<[string, string]> = [
    ['The number you have dialed is not in service', 'invalid_number'],
    ['The subscriber you have dialed is switched off', 'powered_off'],
    ['This number has been suspended', 'suspended'],
    ['The number you are calling is busy', 'busy'],
    ['The subscriber cannot be reached, please try again later', 'unreachable'],
  ];
  for (const [text, kind] of en) assert.is(matchRules(text, 'en', PROGRESS_RULES)?.kind, kind, text);
  assert.is(matchRules('喂，你好', 'zh', PROGRESS_RULES), undefined);
  assert.is(matchRules('hello who is this', 'en', PROGRESS_RULES), undefined);
  // Whole words in English: "unbusy" is not "is busy".
  assert.is(matchRules('this is unbusy', 'en', PROGRESS_RULES), undefined);
});

test('AMD keyword rules: assistant before machine, per language', () => {
  assert.is(matchRules('您好，我是机主的智能助理，请问您有什么事', 'zh', AMD_RULES)?.kind, 'assistant');
  assert.is(matchRules('您好，请在提示音后留言', 'zh', AMD_RULES)?.kind, 'machine');
  assert.is(matchRules('please leave a message after the tone', 'en', AMD_RULES)?.kind, 'machine');
  assert.is(matchRules('this is the call screening assistant', 'en', AMD_RULES)?.kind, 'assistant');
  assert.is(matchRules('喂，你好，哪位', 'zh', AMD_RULES), undefined);
  assert.is(matchRules('hello', 'en', AMD_RULES), undefined);
});

test('spoken length: Han characters for zh, words for en', () => {
  assert.is(spokenUnits('喂', 'zh'), 1);
  assert.is(spokenUnits('您好，请问哪位？', 'zh'), 6);
  assert.is(spokenUnits('喂 hello 你好', 'zh'), 4);
  assert.is(spokenUnits('hello who is this', 'en'), 4);
});

test('Q.850 causes map to progress kinds', () => {
  assert.is(progressFromCause(1), 'invalid_number');
  assert.is(progressFromCause(17), 'busy');
  assert.is(progressFromCause(19, { ringing: true }), 'no_answer');
  assert.is(progressFromCause(19), 'unreachable');
  assert.is(progressFromCause(18), 'unreachable');
  assert.is(progressFromCause(21), 'rejected');
});

test.run();
