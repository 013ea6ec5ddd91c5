import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createResampler } from '../../src/media/index.ts';
import { createSpeaker, EspeakTtsEngine } from '../../src/speech/tts/index.ts';
import { EspeakWasm } from '../../src/speech/tts/espeak-wasm.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();
const MODEL_DIR = fileURLToPath(new URL('../../../shared/models/callpilot-tiny-zh-en/', import.meta.url));

/** The slice of sherpa-onnx-node's recognizer API this test drives (the package ships no type declarations). */
interface OnlineStream {
  acceptWaveform(input: { samples: Float32Array; sampleRate: number }): void;
}
interface OnlineRecognizer {
  createStream(): OnlineStream;
  isReady(stream: OnlineStream): boolean;
  decode(stream: OnlineStream): void;
  getResult(stream: OnlineStream): { text: string };
}
const sherpa = createRequire(import.meta.url)('sherpa-onnx-node') as { OnlineRecognizer: new (config: object) => OnlineRecognizer };

let engine: EspeakTtsEngine;
let recognizer: OnlineRecognizer;

function rms(pcm: Int16Array, from = 0, to = pcm.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += pcm[i] * pcm[i];
  return Math.sqrt(sum / Math.max(1, to - from));
}

function concat(chunks: Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Feeds 8 kHz PCM16 to the tiny model in 20 ms chunks, as a call would: 200 ms of line silence first (the causal
 * model misses a plosive in the very first frames of a stream, e.g. 不 in 不需要, trimmed or not), then the
 * speech, then the 800 ms of silence its README asks for to flush the last words.
 */
function transcribe(pcm8k: Int16Array): string {
  const stream = recognizer.createStream();
  const lead = 1600;
  const withTail = new Int16Array(lead + pcm8k.length + 6400);
  withTail.set(pcm8k, lead);
  // Up to the model's 16 kHz with our resampler, as the product does: fed 8 kHz, sherpa resamples itself and
  // prints "Creating a resampler" on stderr for every stream.
  const pcm16k = createResampler(8000, 16000).process(withTail);
  const chunk = new Float32Array(320);
  for (let at = 0; at + 320 <= pcm16k.length; at += 320) {
    for (let i = 0; i < 320; i++) chunk[i] = pcm16k[at + i] / 32768;
    stream.acceptWaveform({ samples: chunk, sampleRate: 16000 });
    while (recognizer.isReady(stream)) recognizer.decode(stream);
  }
  return recognizer.getResult(stream).text.trim();
}

test.before(async () => {
  engine = await EspeakTtsEngine.create({ voices: { zh: 'cmn', en: 'en-us' }, rate: 175, log });
  recognizer = new sherpa.OnlineRecognizer({
    featConfig: { sampleRate: 16000, featureDim: 80 },
    modelConfig: { nemoCtc: { model: MODEL_DIR + 'model.onnx' }, tokens: MODEL_DIR + 'tokens.txt', numThreads: 1, provider: 'cpu', debug: 0 },
    decodingMethod: 'greedy_search',
    enableEndpoint: false,
  });
});

test.after(async () => {
  await engine.close();
});

test('espeak-ng runs at 22050 Hz and names its voices', () => {
  assert.is(engine.sampleRate, 22050);
  assert.match(engine.name, 'cmn');
  assert.match(engine.name, 'en-us');
});

test('Mandarin: non-silent audio of plausible duration', async () => {
  const text = '您好，请问您现在方便接听电话吗？';
  const pcm = await engine.synthesize(text, 'zh');
  const seconds = pcm.length / engine.sampleRate;
  // 15 syllables at 175 wpm: espeak takes roughly 0.2 s per syllable.
  assert.ok(seconds > 1.5 && seconds < 6, `${seconds} s for ${text}`);
  assert.ok(rms(pcm) > 1000, `rms ${rms(pcm)}`);
});

test('English: non-silent audio of plausible duration', async () => {
  const text = 'Hello, this is a reminder about your payment.';
  const pcm = await engine.synthesize(text, 'en');
  const seconds = pcm.length / engine.sampleRate;
  assert.ok(seconds > 1.2 && seconds < 5, `${seconds} s for ${text}`);
  assert.ok(rms(pcm) > 1000, `rms ${rms(pcm)}`);
});

test('longer text gives longer audio', async () => {
  const short = await engine.synthesize('yes', 'en');
  const long = await engine.synthesize('yes, I already paid the whole bill last week', 'en');
  assert.ok(long.length > 2 * short.length, `${short.length} vs ${long.length}`);
});

test('an unknown voice fails clearly at creation', async () => {
  try {
    const bad = await EspeakTtsEngine.create({ voices: { zh: 'cmn', en: 'no-such-voice' }, rate: 175, log });
    await bad.close();
    assert.unreachable('creation should fail');
  } catch (err) {
    assert.match((err as Error).message, 'no-such-voice');
  }
});

test('speaker output at 8 kHz starts with speech: the first 50 ms have energy', async () => {
  const speaker = createSpeaker(engine, { cacheSize: 0, resample: createResampler, log });
  for (const [text, lang] of [['不需要', 'zh'], ['call me later', 'en']] as const) {
    const [first] = await collectAll(speaker.speak(text, lang, 8000));
    assert.ok(rms(first, 0, 400) > 300, `${text}: rms of the first 50 ms is ${rms(first, 0, 400)}`);
  }
});

test('the tiny ASR model recognizes speaker output at 8 kHz (zh and en)', async () => {
  const speaker = createSpeaker(engine, { cacheSize: 0, resample: createResampler, log });
  for (const [text, lang, expected] of [
    ['不需要', 'zh', '不需要'],
    ['转人工', 'zh', '转人工'],
    ['call me later', 'en', 'call me later'],
    ['wrong number', 'en', 'wrong number'],
  ] as const) {
    const pcm = concat(await collectAll(speaker.speak(text, lang, 8000)));
    assert.is(transcribe(pcm), expected, `ASR of espeak "${text}"`);
  }
});

test('espeak WASM memory stays flat over hundreds of prompts', async () => {
  const espeak = await EspeakWasm.load();
  const prompts = ['是的', '不需要', '稍后再打', 'yes', 'call me later', 'wrong number', '我现在不方便', 'hold on'];
  for (let i = 0; i < 40; i++) espeak.synthesize(`${prompts[i % prompts.length]} ${i}`, i % 2 ? 'en-us' : 'cmn', 175);
  const heapAfterWarmup = espeak.heapBytes;
  let samples = 0;
  for (let i = 0; i < 300; i++) samples += espeak.synthesize(`${prompts[i % prompts.length]} ${i}`, i % 2 ? 'en-us' : 'cmn', 175).length;
  assert.ok(samples > 300 * 4000, 'every prompt produced audio');
  assert.is(espeak.heapBytes, heapAfterWarmup, 'WASM heap grew: espeak leaks per prompt');
});

test('the worker keeps the event loop free while synthesizing', async () => {
  // Inline synthesis would finish all three sentences before this thread could run anything else, so the
  // continuation below would come before any timer, in every round. Judged by order, not by time. One round can
  // still see no timer on a busy machine: if this thread is descheduled for the whole synthesis, the three replies
  // wait together and are all handled in one poll, before the timer phase. So the test asks for a timer in any of
  // five rounds; inline synthesis fails all five, and a machine would have to starve this thread five times over.
  const long = '您的信用卡账单已经逾期三天了，为了避免影响您的个人征信记录，请您在今天下午五点之前尽快还款，谢谢您的配合。';
  let roundsWithTimer = 0;
  for (let round = 0; round < 5 && roundsWithTimer === 0; round++) {
    let done = false;
    let timersRun = 0;
    const tick = (): void => {
      if (done) return;
      timersRun++;
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    const suffix = String(round);
    await Promise.all([
      engine.synthesize(long + suffix, 'zh'),
      engine.synthesize(long + '再见' + suffix, 'zh'),
      engine.synthesize(long + '好的' + suffix, 'zh'),
    ]);
    done = true;
    if (timersRun >= 1) roundsWithTimer++;
  }
  assert.ok(roundsWithTimer >= 1, 'no timer ran while three sentences were synthesized, in five rounds: synthesis blocked the event loop');
  const timing = engine.lastSynthesisTiming();
  assert.ok(timing && timing.computeMs > 0 && timing.audioMs > 3000);
});

async function collectAll(chunks: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

test.run();
