import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IntentClassifier,
  LlmIntentFallback,
  builtinIntents,
  compileIntent,
  detectEmotion,
  extractSlots,
  normalizeUtterance,
  parseChineseNumeral,
} from '../../src/dialog/nlu/index.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();
// Wednesday 2024-05-15, 10:00 in Shanghai.
const now = new Date('2024-05-15T02:00:00Z');
const tz = 'Asia/Shanghai';
const zh = new IntentClassifier('zh', Object.entries(builtinIntents.zh).map(([n, s]) => compileIntent(n, s)));
const en = new IntentClassifier('en', Object.entries(builtinIntents.en).map(([n, s]) => compileIntent(n, s)));
const opts = { now, timeZone: tz, threshold: 0.5 };
const yesNo = ['yes', 'no', 'maybe'];

test('Chinese numerals: units, colloquial shorthand, digit strings', () => {
  assert.is(parseChineseNumeral('三千五百')?.value, 3500);
  assert.is(parseChineseNumeral('三千五')?.value, 3500);
  assert.is(parseChineseNumeral('一万二')?.value, 12000);
  assert.is(parseChineseNumeral('十五')?.value, 15);
  assert.is(parseChineseNumeral('两百五十')?.value, 250);
  assert.is(parseChineseNumeral('一三八')?.digitString, '138');
});

test('slots: amounts, numbers and spoken digits in both scripts', () => {
  assert.is(extractSlots(normalizeUtterance('月底还三千五百块', 'zh'), 'zh', now, tz).amount, 3500);
  assert.is(extractSlots(normalizeUtterance('我能还两万三', 'zh'), 'zh', now, tz).number, 23000);
  assert.is(extractSlots(normalizeUtterance('五块五', 'zh'), 'zh', now, tz).amount, 5.5);
  assert.is(extractSlots(normalizeUtterance('尾号幺三八五六', 'zh'), 'zh', now, tz).digits, '13856');
  assert.is(extractSlots(normalizeUtterance('I can pay $1,250.50', 'en'), 'en', now, tz).amount, 1250.5);
  assert.is(extractSlots(normalizeUtterance('three thousand five hundred dollars', 'en'), 'en', now, tz).amount, 3500);
  assert.is(extractSlots(normalizeUtterance('two four zero eight', 'en'), 'en', now, tz).digits, '2408');
  assert.is(extractSlots(normalizeUtterance('我考虑一下', 'zh'), 'zh', now, tz).number, undefined);
});

test('slots: relative dates from a pinned now and time zone', () => {
  const date = (text: string, lang: 'zh' | 'en'): string | undefined => extractSlots(normalizeUtterance(text, lang), lang, now, tz).date;
  assert.is(date('明天', 'zh'), '2024-05-16');
  assert.is(date('后天吧', 'zh'), '2024-05-17');
  assert.is(date('下周三', 'zh'), '2024-05-22');
  assert.is(date('周一', 'zh'), '2024-05-20');
  assert.is(date('月底', 'zh'), '2024-05-31');
  assert.is(date('下个月五号', 'zh'), '2024-06-05');
  assert.is(date('十号', 'zh'), '2024-06-10');
  assert.is(date('二十号', 'zh'), '2024-05-20');
  assert.is(date('六月一号', 'zh'), '2024-06-01');
  assert.is(date('三天后', 'zh'), '2024-05-18');
  assert.is(date('next Friday', 'en'), '2024-05-24');
  assert.is(date('friday', 'en'), '2024-05-17');
  assert.is(date('tomorrow', 'en'), '2024-05-16');
  assert.is(date('end of the month', 'en'), '2024-05-31');
  assert.is(date('in two days', 'en'), '2024-05-17');
  assert.is(date('on the twentieth', 'en'), '2024-05-20');
  assert.is(date('may fifth', 'en'), '2025-05-05');
  // Late evening in New York is already the next day in Shanghai.
  assert.is(extractSlots('明天', 'zh', new Date('2024-05-15T17:00:00Z'), 'America/New_York').date, '2024-05-16');
  assert.is(extractSlots('明天', 'zh', new Date('2024-05-15T17:00:00Z'), tz).date, '2024-05-17');
  assert.is(extractSlots(normalizeUtterance('下午三点半', 'zh'), 'zh', now, tz).time, '15:30');
  assert.is(extractSlots(normalizeUtterance('at 3 pm', 'en'), 'en', now, tz).time, '15:00');
});

test('negation: 不需要 vs 需要, 不是 vs 是, not interested vs interested', () => {
  assert.is(zh.classify('需要', yesNo, opts).intent, 'yes');
  assert.is(zh.classify('不需要', yesNo, opts).intent, 'no');
  assert.is(zh.classify('是的', yesNo, opts).intent, 'yes');
  assert.is(zh.classify('不是', yesNo, opts).intent, 'no');
  assert.is(zh.classify('不太需要', yesNo, opts).intent, 'no');
  assert.is(zh.classify('嗯，不方便', ['yes', 'no', 'busy'], opts).intent, 'busy');
  assert.is(en.classify("I'm interested", yesNo, opts).intent, 'yes');
  assert.is(en.classify('not interested', yesNo, opts).intent, 'no');
  assert.is(en.classify("i'm not really interested", ['yes', 'no', 'not_interested'], opts).intent, 'not_interested');
  assert.is(en.classify('not sure', yesNo, opts).intent, 'maybe');
  // What the small English model hears for a fast "not interested": never consent.
  for (const t of ['nine interested', 'knot interested', 'not interested']) assert.is(en.classify(t, yesNo, opts).intent, 'no', t);
  assert.is(en.classify("yes i'm interested", yesNo, opts).intent, 'yes');
});

test('a correction: a bare denial, then a value the step takes, is the value; a second negation keeps the refusal', () => {
  const confirmDate = ['yes', 'no', 'promise'];
  const withDate = (c: IntentClassifier, lang: 'zh' | 'en'): IntentClassifier =>
    new IntentClassifier(lang, [
      ...Object.entries(builtinIntents[lang]).map(([n, s]) => compileIntent(n, s)),
      compileIntent('promise', { keywords: lang === 'zh' ? ['会还'] : ['i will pay'], slot: { name: 'date' } }),
    ]);
  const zhDate = withDate(zh, 'zh');
  const enDate = withDate(en, 'en');
  assert.is(zhDate.classify('不对，是后天', confirmDate, opts).intent, 'promise');
  assert.is(zhDate.classify('不是不是，下周二', confirmDate, opts).intent, 'promise');
  assert.is(zhDate.classify('不对', confirmDate, opts).intent, 'no');
  assert.is(zhDate.classify('不是，明天没空', confirmDate, opts).intent, 'no', 'a negation after the denial is no correction');
  assert.is(enDate.classify('no, friday', confirmDate, opts).intent, 'promise');
  assert.is(enDate.classify('no, not friday', confirmDate, opts).intent, 'no');
  // Without a slot intent the denial stays a denial.
  assert.is(zh.classify('不对，是后天', yesNo, opts).intent, 'no');
});

test('yes/no/maybe with fillers and backchannels', () => {
  for (const t of ['嗯', '嗯嗯', '对对对', '嗯，是的', '好的好的', '可以']) assert.is(zh.classify(t, yesNo, opts).intent, 'yes', t);
  for (const t of ['不是', '不用', '没有', '不行']) assert.is(zh.classify(t, yesNo, opts).intent, 'no', t);
  for (const t of ['我考虑一下', '再看看吧', '不一定']) assert.is(zh.classify(t, yesNo, opts).intent, 'maybe', t);
  for (const t of ['yes', 'uh huh', 'yeah sure', 'yes, go ahead']) assert.is(en.classify(t, yesNo, opts).intent, 'yes', t);
  for (const t of ['no', 'nope', "no I don't think so"]) assert.is(en.classify(t, yesNo, opts).intent, 'no', t);
});

test('intents outside the step count through implies; others stay out', () => {
  const r = zh.classify('不感兴趣', ['yes', 'no'], opts);
  assert.is(r.intent, 'no');
  assert.is(zh.classify('不感兴趣', ['yes', 'no', 'not_interested'], opts).intent, 'not_interested');
  assert.is(zh.classify('转人工', ['yes', 'no'], opts).intent, undefined);
});

test('confidence threshold: long unrelated speech with a stray keyword does not match', () => {
  const r = zh.classify('我跟你说那个我们家楼下今天在修路对面超市也关门了', yesNo, opts);
  assert.is(r.intent, undefined);
  assert.ok(r.confidence < 0.5);
  assert.is(zh.classify('今天天气不错', ['repeat', 'human'], opts).intent, undefined);
});

test('ASR-style single-character slips still match long phrases', () => {
  assert.is(zh.classify('我已经换款了', ['already_paid', 'no'], opts).intent, 'already_paid');
});

test('emotion: angry, negative, positive, neutral from lexicon and punctuation', () => {
  assert.is(detectEmotion('你们烦不烦啊，天天打！', 'zh').label, 'angry');
  assert.is(detectEmotion('不满意，太差了', 'zh').label, 'negative');
  assert.is(detectEmotion('不满意！！太差了！！', 'zh').label, 'angry');
  assert.is(detectEmotion('挺满意的，谢谢', 'zh').label, 'positive');
  assert.is(detectEmotion('下周三还', 'zh').label, 'neutral');
  assert.is(detectEmotion('this is ridiculous, leave me alone', 'en').label, 'angry');
  assert.is(detectEmotion('I am not happy with it', 'en').label, 'negative');
  assert.is(detectEmotion('great, thank you', 'en').label, 'positive');
  assert.is(detectEmotion('hello', 'en').label, 'neutral');
});

test('classification is deterministic', () => {
  const a = zh.classify('那个，我下周三还吧', ['yes', 'no'], opts);
  const b = zh.classify('那个，我下周三还吧', ['yes', 'no'], opts);
  assert.equal(a, b);
});

async function withServer(handler: (body: string) => { status: number; json?: unknown; delayMs?: number }, run: (url: string) => Promise<void>): Promise<void> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = handler(body);
      const send = (): void => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(r.json ?? {}));
      };
      if (r.delayMs) setTimeout(send, r.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const chat = (content: string): unknown => ({ choices: [{ message: { role: 'assistant', content } }] });
const candidates = [
  { intent: 'promise_date', description: 'promises to pay', examples: ['下周还'] },
  { intent: 'hardship', description: 'cannot pay', examples: ['没钱'] },
];

test('LLM fallback: picks a candidate intent from an OpenAI-compatible endpoint', async () => {
  let seen: { model?: string; messages?: Array<{ content: string }> } = {};
  await withServer(
    (body) => {
      seen = JSON.parse(body);
      return { status: 200, json: chat('{"intent": "hardship", "confidence": 0.8}') };
    },
    async (baseUrl) => {
      const llm = new LlmIntentFallback({ enabled: true, baseUrl, model: 'stub-model', timeoutMs: 5000 }, log);
      const out = await llm.classify('最近手头有点周转不过来', candidates, 'zh');
      assert.equal(out, { kind: 'intent', result: { intent: 'hardship', confidence: 0.8 } });
      assert.is(seen.model, 'stub-model');
      assert.ok(seen.messages?.some((m) => m.content.includes('最近手头有点周转不过来')));
    },
  );
});

test('LLM fallback: unknown intents, bad JSON, HTTP errors and timeouts are outcomes, not exceptions', async () => {
  const replies = [
    { status: 200, json: chat('{"intent": "buy_a_boat"}') },
    { status: 200, json: chat('sorry, I cannot help') },
    { status: 500, json: { error: 'boom' } },
    // Far past the timeout, which is itself generous so a busy machine does not time out the fast replies.
    { status: 200, json: chat('{"intent": "hardship"}'), delayMs: 8000 },
  ];
  let i = 0;
  await withServer(
    () => replies[i++]!,
    async (baseUrl) => {
      const llm = new LlmIntentFallback({ enabled: true, baseUrl, model: 'm', timeoutMs: 2000 }, log);
      assert.is((await llm.classify('x', candidates, 'zh')).kind, 'none');
      assert.equal((await llm.classify('x', candidates, 'zh')).kind, 'error');
      const http = await llm.classify('x', candidates, 'zh');
      assert.ok(http.kind === 'error' && http.reason === 'http');
      const slow = await llm.classify('x', candidates, 'zh');
      assert.ok(slow.kind === 'error' && slow.reason === 'timeout', JSON.stringify(slow));
    },
  );
});

test('LLM fallback: disabled by default config makes no request', async () => {
  const llm = new LlmIntentFallback({ enabled: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'm', timeoutMs: 100 }, log);
  assert.equal(await llm.classify('x', candidates, 'zh'), { kind: 'none' });
});

test.run();
