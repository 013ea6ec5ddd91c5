import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { splitSentences, trimSilence } from '../../src/speech/tts/index.ts';

const texts = (text: string, lang: 'zh' | 'en'): string[] => splitSentences(text, lang).map((s) => s.text);

test('Chinese: splits at 。！？ and keeps the punctuation', () => {
  assert.equal(texts('您好，我是平安银行的客服小王。请问您现在方便接听电话吗？', 'zh'), [
    '您好，我是平安银行的客服小王。',
    '请问您现在方便接听电话吗？',
  ]);
});

test('Chinese: short sentences are glued instead of spoken alone', () => {
  assert.equal(texts('好的。那我稍后再打给您。', 'zh'), ['好的。那我稍后再打给您。']);
  assert.equal(texts('我们下周再联系您。好吗？', 'zh'), ['我们下周再联系您。好吗？']);
});

test('Chinese: commas split only long sentences', () => {
  assert.equal(texts('您好，请问是张先生吗？', 'zh'), ['您好，请问是张先生吗？']);
  const long = '您的信用卡账单已经逾期三天了，为了避免影响您的个人征信记录，请您在今天下午五点之前尽快还款。';
  const parts = splitSentences(long, 'zh');
  assert.equal(parts.map((p) => p.text).join(''), long);
  assert.ok(parts.length >= 2, `expected a clause split, got ${JSON.stringify(parts)}`);
  assert.is(parts[0].breakAfter, 'clause');
  assert.is(parts[parts.length - 1].breakAfter, 'end');
});

test('Chinese: decimals and ！？ runs do not split wrongly', () => {
  assert.equal(texts('您本月应还款3.5万元。真的吗？！我不信。', 'zh'), ['您本月应还款3.5万元。', '真的吗？！我不信。']);
});

test('English: splits at . ! ? ; but not abbreviations or numbers', () => {
  assert.equal(texts('Hello, this is Dr. Smith calling. Your balance is 3.50 dollars! Can you pay today?', 'en'), [
    'Hello, this is Dr. Smith calling.',
    'Your balance is 3.50 dollars!',
    'Can you pay today?',
  ]);
  assert.equal(texts('I will call back later; thank you for your time.', 'en'), ['I will call back later;', 'thank you for your time.']);
});

test('English: a one-word sentence is not spoken alone', () => {
  assert.equal(texts('Yes. I can do that for you.', 'en'), ['Yes. I can do that for you.']);
  assert.equal(texts('I can do that for you. Okay?', 'en'), ['I can do that for you. Okay?']);
});

test('sentence breaks are reported for the pauses', () => {
  const parts = splitSentences('Please hold on while I check your account. It will only take a moment.', 'en');
  assert.equal(parts.map((p) => p.breakAfter), ['sentence', 'end']);
});

test('empty or punctuation-only text gives nothing to speak', () => {
  assert.equal(splitSentences('', 'zh'), []);
  assert.equal(splitSentences(' 。！… ', 'zh'), []);
});

test('text without punctuation is one sentence', () => {
  assert.equal(texts('call me later', 'en'), ['call me later']);
});

test('trimSilence cuts leading and trailing silence and fades the ends', () => {
  const rate = 16000;
  const tone = new Int16Array(rate); // 1 s: 300 ms silence, 400 ms tone, 300 ms silence
  for (let i = 4800; i < 11200; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  const out = trimSilence(tone, rate, { keepLeadMs: 5, keepTailMs: 20, padEndMs: 10 });
  const expected = 6400 + 80 + 320 + 160;
  assert.ok(Math.abs(out.length - expected) <= 64, `length ${out.length}, expected about ${expected}`);
  assert.is(out[0], 0);
  let early = 0;
  for (let i = 0; i < 800; i++) early = Math.max(early, Math.abs(out[i]));
  assert.ok(early > 4000, 'tone starts within the first 50 ms');
  assert.is(out[out.length - 1], 0);
});

test('trimSilence of pure silence is empty', () => {
  assert.is(trimSilence(new Int16Array(8000), 8000).length, 0);
});

test.run();
