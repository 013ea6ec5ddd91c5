import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { detectEmotion } from '../../src/dialog/index.ts';
import { compileRule, QaCallEvaluation, qaRuleSchema, QaRules, type QaUtterance } from '../../src/qa/index.ts';

/** One rule from its YAML-shaped definition (defaults applied by the schema, as the loader does). */
function evaluation(...defs: unknown[]): QaCallEvaluation {
  return new QaCallEvaluation(defs.map((d) => compileRule('t', qaRuleSchema.parse(d))));
}
const bot = (text: string, startMs: number, endMs = startMs + 2000): QaUtterance => ({ leg: 'bot', text, startMs, endMs });
const caller = (text: string, startMs: number, endMs = startMs + 1000): QaUtterance => ({ leg: 'caller', text, startMs, endMs });

test('keyword (zh): ignores spaces and punctuation, respects the leg, places the hit inside the utterance', () => {
  const qa = evaluation({ id: 'threat', type: 'keyword', leg: 'bot', phrases: ['起诉你'], severity: 'critical', score: 30 });
  assert.equal(qa.utterance(caller('你们要起诉你吗', 1000)), [], 'a caller leg is not the bot leg');
  const [hit, ...rest] = qa.utterance(bot('再不还款，我们就起 诉你。', 10_000, 14_000));
  assert.is(rest.length, 0);
  assert.is(hit!.ruleId, 'threat');
  assert.is(hit!.leg, 'bot');
  assert.is(hit!.severity, 'critical');
  assert.is(hit!.score, 30);
  assert.equal(hit!.detail, { matched: '起诉你' });
  // "起" is the 9th of 13 characters: 8/13 of the way through the 4 s utterance.
  assert.is(hit!.atMs, 10_000 + Math.round((4000 * 8) / 13));
  assert.ok(hit!.atMs > 10_000 && hit!.atMs < 14_000);
});

test('keyword (en): case-insensitive whole words, so "no" is not found in "know"', () => {
  const qa = evaluation({ id: 'shut', type: 'keyword', phrases: ['shut up', 'no'] });
  assert.is(qa.utterance(caller('I know, I KNOW', 0)).length, 0);
  const hits = qa.utterance(caller('Oh, SHUT   up already', 5000, 7000));
  assert.is(hits.length, 1);
  assert.is(hits[0]!.detail['matched'], 'shut up');
  assert.is(hits[0]!.leg, 'caller');
  assert.is(qa.utterance(caller('No.', 8000)).length, 1);
});

test('pinyin: homophones an ASR writes for the phrase still hit; unrelated words do not', () => {
  const qa = evaluation({ id: 'abuse', type: 'pinyin', leg: 'caller', phrases: ['骗子'] });
  assert.is(qa.utterance(caller('你们就是片子', 0)).length, 1, '片子 sounds like 骗子');
  assert.is(qa.utterance(caller('你们就是骗子', 2000)).length, 1);
  assert.is(qa.utterance(caller('我明天还款', 4000)).length, 0);
  const en = evaluation({ id: 'abuse-en', type: 'pinyin', phrases: ['liar'] });
  assert.is(en.utterance(caller('you are a liar', 0)).length, 1, 'English phrases fall back to literal matching');
});

test('regex: zh and en patterns, case-insensitive by default', () => {
  const qa = evaluation({ id: 'complaint', type: 'regex', leg: 'caller', pattern: '投诉|12378|complain(t|ing)?' });
  assert.is(qa.utterance(caller('我要打12378', 0)).length, 1);
  assert.is(qa.utterance(caller('I will COMPLAIN to the bank', 0)).length, 1);
  assert.is(qa.utterance(caller('好的谢谢', 0)).length, 0);
});

test('absence: a required disclosure said too late or not at all is a hit; said in time is not; short calls are not judged', () => {
  const rule = { id: 'recording', type: 'absence', phrases: ['本次通话可能被录音', 'this call may be recorded'], within_s: 30, min_call_s: 8 };
  const ok = evaluation(rule);
  ok.utterance(bot('您好，这里是招财银行，本次通话可能被录音。', 500));
  assert.equal(ok.finish(60_000), []);

  const late = evaluation(rule);
  late.utterance(bot('您好，这里是招财银行。', 500));
  late.utterance(bot('顺便说一下，本次通话可能被录音。', 45_000));
  const [hit] = late.finish(60_000);
  assert.is(hit!.ruleId, 'recording');
  assert.is(hit!.atMs, 0);
  assert.is(hit!.endMs, 30_000);
  assert.is(hit!.leg, undefined);

  const en = evaluation(rule);
  en.utterance(caller('This call may be recorded', 1000));
  assert.is(en.finish(60_000).length, 1, 'the caller saying it does not count for the bot');
  const enBot = evaluation(rule);
  enBot.utterance(bot('Hello! This call may be recorded for quality.', 1000));
  assert.is(enBot.finish(60_000).length, 0);

  assert.is(evaluation(rule).finish(5000).length, 0, 'a 5 s call is shorter than min_call_s');
});

test('sequence required: a complaint not answered by a handoff offer within N s is a hit at the complaint', () => {
  const rule = { id: 'handoff', type: 'sequence', first: { leg: 'caller', phrases: ['投诉', 'complaint'] }, then: { leg: 'bot', phrases: ['转人工', 'an agent'] }, within_s: 15 };
  const answered = evaluation(rule);
  answered.utterance(caller('我要投诉你们', 20_000, 22_000));
  answered.utterance(bot('好的，马上为您转人工', 24_000));
  assert.equal(answered.finish(40_000), []);

  const tooLate = evaluation(rule);
  tooLate.utterance(caller('我要投诉你们', 20_000, 22_000));
  tooLate.utterance(bot('好的，马上为您转人工', 40_000));
  const [hit] = tooLate.finish(60_000);
  assert.is(hit!.ruleId, 'handoff');
  assert.is(hit!.leg, 'caller');
  assert.ok(hit!.atMs >= 20_000 && hit!.atMs < 22_000);

  const en = evaluation(rule);
  en.utterance(caller('I want to file a complaint', 1000));
  en.utterance(bot('Let me connect you to an agent', 3000));
  assert.equal(en.finish(20_000), []);
});

test('sequence forbidden: pressure after a refusal is a hit at the bot words', () => {
  const qa = evaluation({ id: 'pressure', type: 'sequence', mode: 'forbidden', first: { leg: 'caller', phrases: ['不还'] }, then: { leg: 'bot', phrases: ['征信'] }, within_s: 20 });
  qa.utterance(caller('我就不还', 10_000));
  qa.utterance(bot('逾期会影响您的征信', 13_000, 16_000));
  const [hit] = qa.finish(30_000);
  assert.is(hit!.leg, 'bot');
  assert.ok(hit!.atMs > 13_000 && hit!.atMs < 16_000);
  assert.equal(hit!.detail['then'], '征信');
});

test('silence and talk-over ratios: measured over the call, the hit points at the longest stretch', () => {
  const rules = [
    { id: 'dead-air', type: 'silence', max_ratio: 0.4, min_call_s: 10 },
    { id: 'overlap', type: 'talk_over', max_ratio: 0.1, min_call_s: 10 },
  ];
  const quiet = evaluation(...rules);
  quiet.utterance(bot('您好', 0, 5000));
  quiet.utterance(caller('嗯', 6000, 7000));
  // 6 s spoken of 30 s: 80 % silence; the longest gap is 7 s -> 30 s.
  const hits = quiet.finish(30_000);
  assert.equal(hits.map((h) => h.ruleId), ['dead-air']);
  assert.is(hits[0]!.atMs, 7000);
  assert.is(hits[0]!.endMs, 30_000);
  assert.is(hits[0]!.detail['ratio'], 0.8);

  const overlapping = evaluation(...rules);
  overlapping.utterance(bot('请问您什么时候方便还款', 0, 10_000));
  overlapping.utterance(caller('我不是说了吗明天明天', 6000, 12_000));
  overlapping.utterance(bot('好的', 12_000, 19_000));
  const [over, ...none] = overlapping.finish(20_000);
  assert.is(none.length, 0);
  assert.is(over!.ruleId, 'overlap');
  assert.is(over!.atMs, 6000);
  assert.is(over!.endMs, 10_000);
  assert.is(over!.detail['ratio'], 0.2);
});

test('emotion (zh, en): a live hit on the caller utterance the dialog read as angry, at its start; neutral or weak cues are not', () => {
  const qa = evaluation({ id: 'angry-caller', type: 'emotion', severity: 'major', score: 5 });
  qa.utterance(caller('你们烦不烦啊，天天打！', 12_000, 14_500));
  qa.utterance(caller('好的', 20_000, 20_600));
  assert.equal(qa.emotion(20_000, { label: 'neutral', score: 0.5 }), []);
  assert.equal(qa.emotion(20_000, { label: 'angry', score: 0.55 }), [], 'below min_score (0.6)');
  const [hit, ...rest] = qa.emotion(12_000, detectEmotion('你们烦不烦啊，天天打！', 'zh'));
  assert.is(rest.length, 0);
  assert.is(hit!.ruleId, 'angry-caller');
  assert.is(hit!.leg, 'caller');
  assert.is(hit!.atMs, 12_000, 'the utterance that carried the cue, not the latest one');
  assert.is(hit!.endMs, 14_500);
  assert.is(hit!.text, '你们烦不烦啊，天天打！');
  assert.is(hit!.detail['emotion'], 'angry');
  const en = evaluation({ id: 'upset', type: 'emotion', emotions: ['negative', 'angry'], min_score: 0.5 });
  en.utterance(caller('This is ridiculous, stop bothering me', 3000, 5000));
  assert.is(en.emotion(undefined, detectEmotion('This is ridiculous, stop bothering me', 'en')).length, 1, 'without a start: the latest caller utterance');
  assert.equal(en.emotion(undefined, detectEmotion('thank you, that is great', 'en')), []);
});

test('sentiment: the mean caller cue over the call (or its last turns) below the floor is a hit at the lowest utterance', () => {
  const call = (...cues: Array<[string, 'angry' | 'negative' | 'neutral' | 'positive', number]>): ReturnType<typeof evaluation> => {
    const qa = evaluation({ id: 'unhappy', type: 'sentiment', below: -0.3, min_turns: 2 }, { id: 'ended-unhappy', type: 'sentiment', below: -0.5, last_turns: 1, min_turns: 1 });
    cues.forEach(([text, label, score], i) => {
      qa.utterance(caller(text, i * 10_000));
      qa.emotion(i * 10_000, { label, score });
    });
    return qa;
  };
  assert.equal(call(['好的谢谢', 'positive', 0.65], ['嗯', 'neutral', 0.5]).finish(40_000), []);
  // (-0.8 - 0.65 + 0) / 3 = -0.48 < -0.3; the last one is neutral, so the call did not end upset.
  const hits = call(['烦死了', 'angry', 0.8], ['太差了', 'negative', 0.65], ['行吧', 'neutral', 0.5]).finish(40_000);
  assert.equal(hits.map((h) => h.ruleId), ['unhappy']);
  assert.is(hits[0]!.atMs, 0, 'at the angriest utterance');
  assert.is(hits[0]!.detail['sentiment'], -0.483);
  assert.match(hits[0]!.text, /caller sentiment -0\.48 over 3 utterances/);
  const ended = call(['好的', 'positive', 0.65], ['好的', 'positive', 0.65], ['滚', 'angry', 0.8]).finish(40_000);
  assert.equal(ended.map((h) => h.ruleId), ['ended-unhappy'], 'a good call that ended angry: only the last-turn rule');
  assert.is(ended[0]!.atMs, 20_000);
  assert.equal(call(['烦死了', 'angry', 0.9]).finish(10_000).map((h) => h.ruleId), ['ended-unhappy'], 'one utterance is below min_turns of the whole-call rule');
});

test('rules apply per flow and language, or everywhere when the file names none', () => {
  const scoped = compileRule('bank', qaRuleSchema.parse({ id: 'a', type: 'keyword', phrases: ['x'] }), { flows: ['credit_card_overdue'], langs: ['zh'] });
  const global = compileRule('g', qaRuleSchema.parse({ id: 'b', type: 'keyword', phrases: ['y'] }));
  const rules = new QaRules([scoped, global]);
  assert.equal(rules.forCall('credit_card_overdue', 'zh').map((r) => r.def.id), ['a', 'b']);
  assert.equal(rules.forCall('credit_card_overdue', 'en').map((r) => r.def.id), ['b']);
  assert.equal(rules.forCall('demo', 'zh').map((r) => r.def.id), ['b']);
  assert.equal(rules.forCall(undefined, 'zh').map((r) => r.def.id), ['b']);
});

test.run();
