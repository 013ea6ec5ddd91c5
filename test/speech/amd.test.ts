import { EventEmitter } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AmdVerdict, CallProgressVerdict } from '../../src/core/index.ts';
import { AmdDetector, EarlyMediaClassifier } from '../../src/speech/call-progress/index.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { createSpeechEngine } from '../../src/speech/speech-engine.ts';
import type { CallSpeech, CallSpeechEvents, SpeechEngine } from '../../src/speech/types.ts';
import {
  ANNOUNCEMENTS,
  chinaBusy,
  chinaCongestion,
  chinaRingback,
  concat,
  frames,
  GREETINGS,
  LineVoice,
  silence,
  tone,
} from '../support/progress-audio.ts';
import { SHARED_MODELS } from './speech-fixtures.ts';
import { testLog } from '../support/run-log.ts';

const voice = new LineVoice();
let engine: SpeechEngine;

test.before(async () => {
  const cfg = speechConfigSchema.parse({ vad: { poolSize: 2 }, asr: { decodeIntervalMs: 10 } });
  engine = await createSpeechEngine(cfg, { log: testLog(), modelsRoot: SHARED_MODELS });
});
test.after(async () => {
  await engine.close();
  await voice.close();
});

/** Feeds audio faster than real time, yielding so the ASR worker's partials arrive while audio still flows. */
async function feed(push: (f: Int16Array) => void, pcm: Int16Array, stopWhen?: () => boolean): Promise<void> {
  let n = 0;
  for (const f of frames(pcm)) {
    push(f);
    if (++n % 4 === 0) await new Promise((r) => setTimeout(r, 2));
    if (stopWhen?.()) return;
  }
}

async function amdOf(pcm: Int16Array, lang: 'zh' | 'en' = 'zh'): Promise<{ verdict: AmdVerdict; det: AmdDetector }> {
  const det = new AmdDetector({ speech: engine, callId: 'amd-test', lang, sampleRate: 8000 });
  let verdict: AmdVerdict | undefined;
  void det.verdict.then((v) => (verdict = v));
  await feed((f) => det.push(f), concat([pcm, silence(5000)]), () => verdict !== undefined);
  await new Promise((r) => setTimeout(r, 5));
  det.close();
  return { verdict: await det.verdict, det };
}

test('a person: 喂 / 您好 / 喂，你好 then a pause is human within 2 s of answer', async () => {
  for (const text of [GREETINGS.humanWei, GREETINGS.humanNinhao, GREETINGS.humanWeiNihao]) {
    const { verdict } = await amdOf(concat([silence(300), await voice.say(text)]));
    assert.is(verdict.kind, 'human', `${text}: ${JSON.stringify(verdict)}`);
    assert.is(verdict.reason, 'short_greeting');
    assert.ok(verdict.atMs <= 2000, `${text}: verdict at ${verdict.atMs} ms`);
  }
  const { verdict } = await amdOf(concat([silence(400), await voice.say('Hello?', 'en')]), 'en');
  assert.is(verdict.kind, 'human', JSON.stringify(verdict));
});

test('voicemail greetings (zh, en) are machines within 4 s, before the greeting ends', async () => {
  for (const [text, lang] of [
    [GREETINGS.voicemailZh, 'zh'],
    [GREETINGS.voicemailEn, 'en'],
  ] as const) {
    const speech = await voice.say(text, lang);
    const { verdict } = await amdOf(concat([silence(500), speech, silence(300), tone(1000, 500, 0.4)]), lang);
    assert.is(verdict.kind, 'machine', `${text}: ${JSON.stringify(verdict)}`);
    assert.ok(verdict.atMs <= 4000, `verdict at ${verdict.atMs}`);
    assert.ok(verdict.atMs < 500 + (speech.length / 8000) * 1000, 'decided only after the greeting ended');
  }
});

test('the assistant greeting is not taken for a person', async () => {
  // The tiny test model cannot spell 智能助理 (not in its vocabulary), so here the greeting's length decides;
  // the keyword path to `assistant` is proven below on the rule level.
  const { verdict } = await amdOf(concat([silence(300), await voice.say(GREETINGS.assistantZh)]));
  assert.ok(verdict.kind === 'assistant' || verdict.kind === 'machine', JSON.stringify(verdict));
});

test('a bare beep after a short pause is a machine; waitForBeep finds the beep after a machine verdict', async () => {
  const { verdict } = await amdOf(concat([silence(600), tone(1000, 400, 0.4)]));
  assert.is(verdict.kind, 'machine');
  assert.is(verdict.reason, 'beep');
  assert.ok(Math.abs((verdict.beepAtMs ?? 0) - 600) <= 40, `beep at ${verdict.beepAtMs}`);

  const greeting = await voice.say(GREETINGS.voicemailZh);
  const det = new AmdDetector({ speech: engine, callId: 'amd-beep', lang: 'zh', sampleRate: 8000 });
  const pcm = concat([silence(300), greeting, silence(600), tone(950, 300, 0.4), silence(3000)]);
  let waited: Awaited<ReturnType<AmdDetector['waitForBeep']>> | undefined;
  void det.verdict.then(async (v) => {
    assert.is(v.kind, 'machine');
    waited = await det.waitForBeep();
  });
  await feed((f) => det.push(f), pcm, () => waited !== undefined);
  det.close();
  assert.is(waited?.reason, 'beep');
  const beepStart = 300 + (greeting.length / 8000) * 1000 + 600;
  assert.ok(Math.abs((waited?.beep?.startMs ?? 0) - beepStart) <= 40, `beep at ${waited?.beep?.startMs}, expected ${beepStart}`);
});

test('silence is unknown at the end of the window; expire() ends a stalled clock', async () => {
  const { verdict } = await amdOf(silence(100));
  assert.is(verdict.kind, 'unknown');
  assert.is(verdict.reason, 'silence');
  assert.is(verdict.atMs, 4000);
  const det = new AmdDetector({ speech: engine, callId: 'amd-expire', lang: 'zh', sampleRate: 8000 });
  await feed((f) => det.push(f), silence(400));
  det.expire();
  assert.equal(await det.verdict, { kind: 'unknown', reason: 'silence', atMs: 400 });
  det.close();
});

/** A listener that reports what it is told, for the keyword rules on words the tiny test model cannot spell. */
class ScriptedListener extends EventEmitter<CallSpeechEvents> implements CallSpeech {
  nowMs = 0;
  speaking = false;
  push(pcm: Int16Array): void {
    this.nowMs += pcm.length / 8;
  }
  setExpected(): void {}
  close(): void {}
}

test('AMD keyword path: an assistant greeting read by the ASR is `assistant`, a voicemail phrase `machine`', async () => {
  for (const [text, kind] of [
    ['您好我是机主的智能助理', 'assistant'],
    ['请在提示音后留言', 'machine'],
  ] as const) {
    const listener = new ScriptedListener();
    const det = new AmdDetector({ speech: { createCall: () => listener }, callId: 'x', lang: 'zh', sampleRate: 8000 });
    for (const f of frames(silence(600))) det.push(f);
    listener.emit('speechStart', { atMs: 300 });
    for (const f of frames(silence(800))) det.push(f);
    listener.emit('partial', { text, atMs: 1400 });
    const v = await det.verdict;
    assert.is(v.kind, kind);
    assert.is(v.reason, 'keyword');
    assert.is(v.atMs, 1400);
  }
});

async function progressOf(pcm: Int16Array): Promise<{ verdict?: CallProgressVerdict; heard: string }> {
  const cls = new EarlyMediaClassifier({ speech: engine, callId: 'cp-test', lang: 'zh' });
  let verdict: CallProgressVerdict | undefined;
  void cls.verdict.then((v) => (verdict = v));
  cls.onSignal('early_media');
  await feed((f) => cls.onAudio(f, 8000), pcm, () => verdict !== undefined);
  await new Promise((r) => setTimeout(r, 20));
  return { verdict, heard: cls.stop() };
}

test('early media: busy and congestion tones decide before answer; ringback does not', async () => {
  const busy = await progressOf(chinaBusy(4000));
  assert.is(busy.verdict?.kind, 'busy');
  assert.is(busy.verdict?.source, 'tone');
  assert.ok((busy.verdict?.atMs ?? 1e9) <= 2000);
  const congestion = await progressOf(chinaCongestion(5000));
  assert.is(congestion.verdict?.kind, 'unreachable');
  assert.is(congestion.heard, 'congestion_tone');
  const ringback = await progressOf(chinaRingback(10_000));
  assert.is(ringback.verdict, undefined);
  assert.is(ringback.heard, 'ringback_tone');
});

test('early media: an announcement the ASR reads is classified by its keywords', async () => {
  // Real ASR on the real announcement audio: with the tiny test model the words are out of vocabulary, so the
  // announcement must at least be heard as speech and never be called a tone verdict.
  const spoken = await progressOf(concat([silence(200), await voice.say(ANNOUNCEMENTS.powered_off), silence(800)]));
  assert.is(spoken.verdict, undefined);
  assert.ok(spoken.heard === 'announcement' || spoken.heard === 'colour_ringback', spoken.heard);
  for (const [text, kind] of Object.entries({
    [ANNOUNCEMENTS.invalid_number]: 'invalid_number',
    [ANNOUNCEMENTS.powered_off]: 'powered_off',
    [ANNOUNCEMENTS.suspended]: 'suspended',
    [ANNOUNCEMENTS.busy]: 'busy',
    [ANNOUNCEMENTS.unreachable]: 'unreachable',
  })) {
    const listener = new ScriptedListener();
    const cls = new EarlyMediaClassifier({ speech: { createCall: () => listener }, callId: 'x', lang: 'zh' });
    for (const f of frames(silence(1000))) cls.onAudio(f, 8000);
    listener.emit('partial', { text, atMs: 1000 });
    const v = await cls.verdict;
    assert.equal(v, { kind, source: 'announcement', atMs: 1000, evidence: v.evidence, transcript: text, heard: 'announcement' });
  }
});

test.run();
