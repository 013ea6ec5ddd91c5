import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFlowDialogFactory } from '../../src/dialog/flow/index.ts';
import { IntentClassifier, builtinIntents, compileIntent } from '../../src/dialog/nlu/index.ts';
import { readingsOf, soundsAlike } from '../../src/core/index.ts';
import { digitsFromSoundAlikes } from '../../src/dialog/nlu/pinyin.ts';
import { extractSlots } from '../../src/dialog/nlu/slots.ts';
import { testLog } from '../support/run-log.ts';

const zh = new IntentClassifier('zh', Object.entries(builtinIntents.zh).map(([n, s]) => compileIntent(n, s)));
const opts = { now: new Date('2024-05-15T02:00:00Z'), timeZone: 'Asia/Shanghai', threshold: 0.5 };
const step = ['yes', 'no', 'not_interested', 'already_paid', 'repeat', 'who_are_you', 'human', 'wrong_number', 'busy'];
const intent = (text: string): string => zh.classify(text, step, opts).intent ?? '-';

test('readings: toneless, every reading of a polyphone, folded for near-homophones', () => {
  assert.ok(readingsOf('还').includes('hai') && readingsOf('还').includes('huan'));
  assert.equal([...readingsOf('是')], ['si'], 'shi folds onto si');
  assert.equal([...readingsOf('a')], []);
  assert.ok(soundsAlike('人', '仁'));
  assert.ok(soundsAlike('还', '换'));
  assert.ok(soundsAlike('蓝', '男'), 'l/n');
  assert.not.ok(soundsAlike('不', '需'));
});

test('homophone ASR errors still reach the intent', () => {
  assert.is(intent('转仁工'), 'human');
  assert.is(intent('我要赚人工'), 'human');
  assert.is(intent('我已经换款了'), 'already_paid');
  assert.is(intent('部需要'), 'not_interested');
  assert.is(intent('步需要谢谢'), 'not_interested');
  assert.is(intent('达错了'), 'wrong_number');
  assert.is(intent('在说一边'), 'repeat');
  assert.is(intent('不敢性趣'), 'not_interested');
});

test('a homophone of a digit before a counter is the digit; words that hold the same sounds are not', () => {
  assert.is(digitsFromSoundAlikes('给个舞分吧'), '给个五分吧');
  assert.is(digitsFromSoundAlikes('死分'), '四分', 'si before 分');
  assert.is(digitsFromSoundAlikes('改到久号'), '改到九号');
  for (const t of ['一起点', '旧号码', '好吧分期', '我就点了', '把号码给我', '打个是分', '部分同意'])
    assert.is(digitsFromSoundAlikes(t), t, t);
  assert.is(extractSlots('给个舞分', 'zh', opts.now, opts.timeZone).number, 5);
  assert.match(String(extractSlots('就久号吧', 'zh', opts.now, opts.timeZone).date), /-09$/, 'the 9th');
});

test('a refusal is never read as consent: 不需要 and its sound-alikes never match 需要', () => {
  for (const t of ['不需要', '不需需要', '部需要', '嗯不需要', '我不需要', '不需要了谢谢', '真的不需要', '不用', '没需要', '不是', '布需要'])
    assert.not.equal(intent(t), 'yes', t);
  assert.is(intent('需要'), 'yes');
  assert.is(intent('嗯需要的'), 'yes');
});

test('near misses with another meaning do not match', () => {
  // 需求 is not 需要; 仁慈 is not 人工; the classifier must not invent intents from shared syllables alone.
  assert.is(intent('需求'), '-');
  assert.is(intent('他很仁慈'), '-');
  assert.is(intent('换个款式'), '-');
});

test('a yes heard only as a sound-alike is flagged approximate; a written one is not', () => {
  const soundAlike = zh.classify('事的', ['yes', 'no'], opts);
  assert.is(soundAlike.intent, 'yes');
  assert.ok(soundAlike.ranked[0]!.approximate);
  const written = zh.classify('是的', ['yes', 'no'], opts);
  assert.is(written.intent, 'yes');
  assert.not.ok(written.ranked[0]!.approximate);
});

test('doubtful consent in a refusable step re-prompts; a clear yes or an unrefusable step goes on', async () => {
  const factory = await createFlowDialogFactory({
    flowsDir: fileURLToPath(new URL('../../configs/flows/', import.meta.url)),
    defaultFlow: 'demo',
    defaultLang: 'zh',
    llm: { enabled: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'none', timeoutMs: 200 },
    log: testLog(),
    now: () => new Date('2024-05-15T02:00:00Z'),
    watch: false,
  });
  const ctx = { lang: 'zh' as const, flow: 'demo', direction: 'outbound' as const, variables: {} };
  const greeting = async (id: string) => {
    const s = factory.create({ ...ctx, callId: id });
    const first = await s.begin();
    return { s, first };
  };
  {
    const { s, first } = await greeting('low-confidence');
    const next = await s.next({ kind: 'speech', text: '是的', confidence: 0.3 });
    assert.is(next.kind, 'say');
    assert.is(s.variables().last_step, 'greeting', 'still asking');
    assert.ok(next.kind === 'say' && first.kind === 'say' && next.text.includes(first.text.slice(0, 6)), 'the question is asked again');
  }
  {
    const { s } = await greeting('sound-alike');
    await s.next({ kind: 'speech', text: '事的' });
    assert.is(s.variables().last_step, 'greeting');
  }
  {
    const { s } = await greeting('confident');
    await s.next({ kind: 'speech', text: '是的', confidence: 0.95 });
    assert.is(s.variables().last_step, 'offer');
  }
  {
    const { s } = await greeting('no-confidence-given');
    await s.next({ kind: 'speech', text: '是的' });
    assert.is(s.variables().last_step, 'offer', 'models without token confidences: the written yes counts');
  }
  {
    // The tiny model's spelling of 我最近失业了，实在没钱 (no token confidences to say it is unsure).
    const { s } = await greeting('consent word inside a misheard sentence');
    await s.next({ kind: 'speech', text: '我钱是' });
    assert.is(s.variables().last_step, 'greeting', 'a 是 the answer does not open with is no consent');
  }
  {
    const { s } = await greeting('low-confidence refusal');
    const end = await s.next({ kind: 'speech', text: '不需要', confidence: 0.3 });
    assert.is(end.kind, 'end', 'a refusal is taken even when unsure');
  }
});

test('consent is clear when the answer opens with it or ends with it after a topic, and nothing else negates', () => {
  const clear = (t: string): boolean => zh.opensClearly('yes', zh.classify(t, step, opts).normalized);
  for (const t of ['是的', '嗯，是的，什么时候到', '喂，对，我是', '那可以', '地址对的', '没错，就这个地址', '没问题']) assert.ok(clear(t), t);
  // Misheard sentences the tiny model spelled with a consent word in them (said: 我最近失业了，实在没钱; 我不是陈女士;
  // 号码换人了，我不认识他; 我搬家了，换个地址).
  for (const t of ['我钱是', '我不楚是', '好还我不钱', '是的，不过我不需要', '我现了好']) assert.not.ok(clear(t), t);
  const en = new IntentClassifier('en', Object.entries(builtinIntents.en).map(([n, sp]) => compileIntent(n, sp)));
  const clearEn = (t: string): boolean => en.opensClearly('yes', en.classify(t, step, opts).normalized);
  for (const t of ['yes', 'well yes go ahead', 'yeah that is my card']) assert.ok(clearEn(t), t);
  for (const t of ['i do not know yes', 'yes but i do not want it']) assert.not.ok(clearEn(t), t);
});

test('A-not-A questions (有没有, 是不是, 要不要) are neither a yes nor a no; a negation said twice still is a no', () => {
  for (const t of ['有没有晚上的', '是不是要还款', '要不要带东西', '可不可以晚点']) {
    const got = intent(t);
    assert.ok(got !== 'yes' && got !== 'no', `${t} -> ${got}`);
  }
  assert.is(intent('不是不是'), 'no');
  assert.is(intent('没有没有'), 'no');
  assert.is(intent('没有'), 'no');
  assert.is(intent('是的'), 'yes');
});

test("a keyword never spans the caller's clause break: 不是，我说的… holds no 不是我 (wrong person)", () => {
  assert.is(intent('不是，我早就销户了'), 'no');
  assert.is(intent('不是我'), 'wrong_number');
  // Without punctuation (as the recognizer writes) the words run together and are read as written.
  assert.is(intent('不是我早就销户了'), 'wrong_number');
});

test.run();
