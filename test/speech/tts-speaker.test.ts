import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Lang } from '../../src/dialog/types.ts';
import { createResampler } from '../../src/media/index.ts';
import type { TtsEngine } from '../../src/speech/types.ts';
import { createSpeaker, SpeakerError, trimSilence } from '../../src/speech/tts/index.ts';

/** A deterministic synthesizer: 30 ms of silence, then a tone whose length grows with the text, like espeak. */
class ToneEngine implements TtsEngine {
  readonly name = 'tone';
  readonly sampleRate = 22050;
  calls: string[] = [];
  failOn: string | undefined;
  private readonly gates: Array<() => void> = [];
  gated = false;

  async synthesize(text: string, _lang: Lang): Promise<Int16Array> {
    this.calls.push(text);
    if (this.gated) await new Promise<void>((resolve) => this.gates.push(resolve));
    else await new Promise((resolve) => setTimeout(resolve, 2));
    if (text === this.failOn) throw new Error('synthetic failure');
    const lead = Math.round(0.03 * this.sampleRate);
    const body = Math.round(0.08 * this.sampleRate) * [...text].length;
    const pcm = new Int16Array(lead + body);
    for (let i = 0; i < body; i++) pcm[lead + i] = Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / this.sampleRate));
    return pcm;
  }

  release(): void {
    for (const open of this.gates.splice(0)) open();
  }

  async close(): Promise<void> {}
}

async function collect(chunks: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

const nonSilent = (chunks: Int16Array[]): Int16Array[] => chunks.filter((c) => c.some((v) => v !== 0));

test('speaks sentence by sentence, with pauses between, resampled to the call rate', async () => {
  const engine = new ToneEngine();
  const speaker = createSpeaker(engine, { cacheSize: 10, resample: createResampler });
  const chunks = await collect(speaker.speak('您好，我是平安银行的客服。请问您现在方便接听电话吗？', 'zh', 8000));
  assert.equal(engine.calls, ['您好，我是平安银行的客服。', '请问您现在方便接听电话吗？']);
  assert.is(chunks.length, 3, 'sentence, pause, sentence');
  assert.is(chunks[1].length, 1600, '200 ms pause at 8 kHz');
  assert.ok(chunks[1].every((v) => v === 0));
  // The tone runs to the clip's end, so: 5 ms kept lead + tone + 10 ms pad, times 8000/22050, less the filter delay.
  const nativeBody = Math.round(0.08 * 22050) * 13;
  const expected = ((nativeBody + 0.005 * 22050 + 0.01 * 22050) * 8000) / 22050;
  assert.ok(Math.abs(chunks[0].length - expected) < 40, `length ${chunks[0].length}, expected about ${expected}`);
});

test('block-wise resampling equals resampling the whole trimmed sentence at once', async () => {
  const engine = new ToneEngine();
  // Leveling off: this compares the resampling alone (tts-level.test.ts covers the levels).
  const speaker = createSpeaker(engine, { cacheSize: 0, resample: createResampler, level: false });
  const text = '您的账单已经逾期三天了请尽快还款谢谢'; // 1.4 s of tone: several resampling blocks
  const [spoken] = await collect(speaker.speak(text, 'zh', 8000));
  const whole = createResampler(22050, 8000);
  const reference = whole.process(trimSilence(await engine.synthesize(text, 'zh'), 22050)).slice(whole.delaySamples);
  assert.is(spoken.length, reference.length);
  assert.equal(Array.from(spoken), Array.from(reference));
});

test('resampled output length follows the rate ratio (8 kHz vs 16 kHz)', async () => {
  const engine = new ToneEngine();
  const speaker = createSpeaker(engine, { cacheSize: 10, resample: createResampler });
  const [at8] = await collect(speaker.speak('call me later', 'en', 8000));
  const [at16] = await collect(speaker.speak('call me later', 'en', 16000));
  const ratio = at16.length / at8.length;
  assert.ok(Math.abs(ratio - 2) < 0.02, `16k/8k length ratio ${ratio}`);
});

test('leading silence is trimmed: the first 50 ms carry the tone', async () => {
  const speaker = createSpeaker(new ToneEngine(), { cacheSize: 0, resample: createResampler });
  const [first] = await collect(speaker.speak('不需要', 'zh', 8000));
  let peak = 0;
  for (let i = 0; i < 400; i++) peak = Math.max(peak, Math.abs(first[i]));
  assert.ok(peak > 3000, `peak in the first 50 ms is ${peak}`);
});

test('cache: a repeated prompt returns identical audio without synthesizing again', async () => {
  const engine = new ToneEngine();
  const speaker = createSpeaker(engine, { cacheSize: 10, resample: createResampler });
  const first = await collect(speaker.speak('您好。请问是张先生吗？', 'zh', 8000));
  const callsAfterFirst = engine.calls.length;
  const second = await collect(speaker.speak('您好。请问是张先生吗？', 'zh', 8000));
  assert.is(engine.calls.length, callsAfterFirst);
  assert.is(second.length, first.length);
  for (let i = 0; i < first.length; i++) assert.equal(Array.from(second[i]), Array.from(first[i]));
  // Another rate is another cache entry.
  await collect(speaker.speak('您好。请问是张先生吗？', 'zh', 16000));
  assert.ok(engine.calls.length > callsAfterFirst);
});

test('cache evicts the least recently used sentence', async () => {
  const engine = new ToneEngine();
  const speaker = createSpeaker(engine, { cacheSize: 2, resample: createResampler });
  for (const text of ['one two three', 'four five six', 'one two three', 'seven eight nine', 'one two three', 'four five six']) {
    await collect(speaker.speak(text, 'en', 8000));
  }
  assert.equal(engine.calls, ['one two three', 'four five six', 'seven eight nine', 'four five six']);
});

test('warm() pre-synthesizes so speak() does not call the engine', async () => {
  const engine = new ToneEngine();
  const speaker = createSpeaker(engine, { cacheSize: 10, resample: createResampler });
  await speaker.warm('感谢您的接听，再见。', 'zh', 8000);
  const calls = engine.calls.length;
  assert.ok(calls > 0);
  const chunks = await collect(speaker.speak('感谢您的接听，再见。', 'zh', 8000));
  assert.is(engine.calls.length, calls);
  assert.ok(nonSilent(chunks).length > 0);
});

test('concurrent speak() of the same uncached text synthesizes once', async () => {
  const engine = new ToneEngine();
  engine.gated = true;
  const speaker = createSpeaker(engine, { cacheSize: 10, resample: createResampler });
  const runs = [1, 2, 3].map(() => collect(speaker.speak('请问您现在方便吗', 'zh', 8000)));
  await new Promise((resolve) => setTimeout(resolve, 5));
  engine.release();
  const results = await Promise.all(runs);
  assert.equal(engine.calls, ['请问您现在方便吗']);
  assert.equal(Array.from(results[1][0]), Array.from(results[0][0]));
  assert.equal(Array.from(results[2][0]), Array.from(results[0][0]));
});

test('the first sentence is yielded before the second is synthesized, and the second is already requested', async () => {
  const engine = new ToneEngine();
  engine.gated = true;
  const speaker = createSpeaker(engine, { cacheSize: 0, resample: createResampler });
  const iterator = speaker.speak('Please hold on while I check. It will only take a moment.', 'en', 8000)[Symbol.asyncIterator]();
  const firstChunk = iterator.next();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.is(engine.calls.length, 2, 'both sentences requested: the second is synthesized while the first plays');
  engine.release();
  const first = await firstChunk;
  assert.not.ok(first.done);
  assert.ok((first.value as Int16Array).length > 0);
  engine.release();
  await iterator.return?.(undefined);
  engine.release();
});

test('a synthesis failure surfaces as SpeakerError naming the sentence', async () => {
  const engine = new ToneEngine();
  engine.failOn = 'It will only take a moment.';
  const speaker = createSpeaker(engine, { cacheSize: 10, resample: createResampler });
  try {
    await collect(speaker.speak('Please hold on while I check. It will only take a moment.', 'en', 8000));
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, SpeakerError);
    assert.match((err as Error).message, 'It will only take a moment.');
  }
  // The failed sentence is not cached and not stuck in flight: a retry asks the engine again.
  engine.failOn = undefined;
  await collect(speaker.speak('It will only take a moment.', 'en', 8000));
  assert.is(engine.calls.filter((c) => c === 'It will only take a moment.').length, 2);
});

test('at the engine rate no resampler is used', async () => {
  const engine = new ToneEngine();
  let created = 0;
  const speaker = createSpeaker(
    { ...engine, name: engine.name, sampleRate: 16000, synthesize: (t: string, l: Lang) => engine.synthesize(t, l), close: async () => {} },
    { cacheSize: 0, resample: (a, b) => { created++; return createResampler(a, b); } },
  );
  const chunks = await collect(speaker.speak('hello there my friend', 'en', 16000));
  assert.is(created, 0);
  assert.ok(nonSilent(chunks).length === 1);
});

test.run();
