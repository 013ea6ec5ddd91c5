import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endOfTurnWait, incompletenessCue, isQuestion, type EndOfTurnInput, type TurnContext } from '../../src/speech/end-of-turn.ts';
import { Endpointer } from '../../src/speech/endpointer.ts';
import { ProsodyTracker } from '../../src/speech/prosody.ts';

const o = { floorMs: 180, capMs: 1200, baseMs: 700, expectedMs: 200 };
const yesNo: TurnContext = { expects: 'yesNo', phrases: ['是的', '不需要', 'yes'] };
const date: TurnContext = { expects: 'date', phrases: [] };
const amount: TurnContext = { expects: 'amount', phrases: [] };
const free: TurnContext = { expects: 'free', phrases: [] };

function wait(partial: Partial<EndOfTurnInput> & { text: string }): ReturnType<typeof endOfTurnWait> {
  return endOfTurnWait({ matchesExpected: false, context: yesNo, prosody: 'unknown', speechMs: 1000, ...partial }, o);
}

test('incompleteness cues: trailing fillers, conjunctions, "I want", open numbers (zh and en)', () => {
  for (const t of ['嗯', '那个', '我下周那个', '就是', '然后', '因为', '我想', '我想问一下', '但是', '如果', '我觉得'])
    assert.is(incompletenessCue(t), 'incomplete', t);
  for (const t of ['uh', 'um', 'and', 'because', 'i want to', 'talk to', 'my card number is', 'so'])
    assert.is(incompletenessCue(t), 'incomplete', t);
  for (const t of ['一三八', '三千', '我的卡号是五七零', 'four five', 'twenty', '下周']) assert.is(incompletenessCue(t), 'numberInProgress', t);
  for (const t of ['是的', '不需要', '我已经还款了', '三千块', '下周三', '15号', '月底', 'yes', 'not interested', 'call me later', '我考虑一下', '好的'])
    assert.is(incompletenessCue(t), undefined, t);
});

test('Chinese cue words count by sound where the step asks for no number: the recognizer writes homophones', () => {
  // 我想想，就是， as the cost proxy wrote it: 就是 as 九什 or 九四 (jiu shi, s for sh).
  for (const t of ['我在钱九什', '我现下九四', '我周楚九什']) assert.is(incompletenessCue(t, true), 'incomplete', t);
  assert.is(incompletenessCue('我在钱九什'), undefined, 'by character only, unless asked');
  // A step that asks for a number: 九十 is ninety.
  assert.is(incompletenessCue('我还九十', false), 'numberInProgress');
  assert.equal(wait({ text: '我在钱九什', speechMs: 2000, prosody: 'falling' }), { waitMs: 1200, cues: ['incomplete'] });
  assert.equal(wait({ text: '我现下九什', context: { expects: 'amount', phrases: [] }, valueHeld: true, speechMs: 2000, prosody: 'falling' }).cues, ['complete', 'falling']);
  // Single characters sound like too many others; a question stays a question (哪个 sounds like 那个).
  for (const t of ['我已经还款了', '我知道了', '你说哪个', '好的谢谢', '不需要', '下周三']) assert.not.ok(incompletenessCue(t, true) === 'incomplete', t);
  assert.ok(wait({ text: '你说哪个', speechMs: 1200 }).cues.includes('question'));
});

test('a one-character answer whose falling tone the voice did not have waits as a sentence: 嗯 hummed, written 不', () => {
  const heard = (text: string, prosody: 'falling' | 'level' | 'rising' | 'unknown') =>
    wait({ text, matchesExpected: true, expectedAtEnd: true, prosody, speechMs: 320 });
  assert.equal(heard('不', 'rising'), { waitMs: 700, cues: ['toneMismatch'] });
  assert.equal(heard('是', 'level'), { waitMs: 700, cues: ['toneMismatch'] });
  // Said as written, or not known: the expected answer's wait.
  assert.equal(heard('不', 'falling'), { waitMs: 200, cues: ['expected'], early: true });
  assert.equal(heard('是', 'unknown'), { waitMs: 200, cues: ['expected'], early: true });
  // Other tones are said many ways (a quick 好 falls); longer answers carry more than one tone; fillers have none.
  assert.equal(heard('好', 'rising').cues, ['expected', 'hold']);
  assert.equal(heard('好', 'falling').cues, ['expected']);
  assert.equal(heard('是的', 'level').cues, ['expected', 'hold']);
  assert.not.ok(wait({ text: '嗯', prosody: 'rising', speechMs: 700 }).cues.includes('toneMismatch'));
});

test('questions asked back are recognized', () => {
  for (const t of ['谁啊', '干什么呀']) assert.ok(isQuestion(t), t);
  assert.not.ok(isQuestion('好啊'));
  for (const t of ['请问你是谁', '这个费用是怎么算的吗', '你们是哪里', '多少', 'who is this?', 'what is this about']) assert.ok(isQuestion(t), t);
  for (const t of ['是的', '不需要', 'yes', '我下周还']) assert.not.ok(isQuestion(t), t);
});

test('an unfinished sentence waits the cap, whatever the step expects or the voice does', () => {
  for (const text of ['嗯', '那个', '我想', 'i want to']) {
    const d = wait({ text, prosody: 'falling' });
    assert.is(d.waitMs, 1200, text);
    assert.equal(d.cues, ['incomplete']);
  }
  // Even when an expected answer was said before the filler ("是的，然后...").
  assert.is(wait({ text: '是的然后', matchesExpected: true, expectedAtEnd: false }).waitMs, 1200);
});

test('an expected answer at the end wins over a phrase that looks unfinished (我就是 ends in 就是)', () => {
  const d = wait({ text: '我就是', matchesExpected: true, expectedAtEnd: true });
  assert.is(d.waitMs, 200);
  assert.ok(d.cues.includes('expected'));
});

test('expected answer: the short wait; a held voice or a long utterance adds a little', () => {
  assert.is(wait({ text: '是的', matchesExpected: true, expectedAtEnd: true, prosody: 'falling' }).waitMs, 200);
  assert.is(wait({ text: '是的', matchesExpected: true, expectedAtEnd: true, prosody: 'rising' }).waitMs, 300);
  assert.is(wait({ text: '是的', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 4000 }).waitMs, 350);
});

test('an English answer said with a rise ("yes," going on) waits as a held sentence does; a Chinese one only holds a little', () => {
  // ... as long as a held sentence: "yes," and 880 ms later "I mean no" was cut at the base (700 ms).
  assert.equal(wait({ text: 'yes', matchesExpected: true, expectedAtEnd: true, prosody: 'rising' }), { waitMs: 950, cues: ['expected', 'continuationRise'] });
  assert.is(wait({ text: 'I already paid', prosody: 'rising', speechMs: 1500 }).waitMs, 950, 'the same wait as a held sentence');
  assert.equal(wait({ text: 'yes', matchesExpected: true, expectedAtEnd: true, prosody: 'level' }), { waitMs: 300, cues: ['expected', 'hold'], early: true });
  assert.equal(wait({ text: 'yes', matchesExpected: true, expectedAtEnd: true, prosody: 'falling' }), { waitMs: 200, cues: ['expected'], early: true });
  // A listed question rises as questions do.
  assert.equal(wait({ text: 'who is this', matchesExpected: true, expectedAtEnd: true, prosody: 'rising' }), { waitMs: 300, cues: ['expected', 'hold'], early: true });
  // 没有 ends on a rising tone whatever the turn does.
  assert.equal(wait({ text: '没有', matchesExpected: true, expectedAtEnd: true, prosody: 'rising' }), { waitMs: 300, cues: ['expected', 'hold'], early: true });
});

test('a filler too short to hold an answer as well (嗯 heard as 嗯是) holds the turn open; a fluent 嗯，是的 does not', () => {
  const short = wait({ text: '嗯是', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 300 });
  assert.is(short.waitMs, 1200);
  assert.equal(short.cues, ['hesitation']);
  assert.is(wait({ text: 'um yes', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 400 }).waitMs, 1200);
  assert.is(wait({ text: '嗯是的', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 900 }).waitMs, 200);
  assert.is(wait({ text: '是的', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 300 }).waitMs, 200, 'a short plain yes stays quick');
  // A filler after the answer: the caller goes on (the tiny model heard 嗯，……需要 as 不嗯 and the bot hung up).
  assert.equal(wait({ text: '不嗯', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 320 }), { waitMs: 1200, cues: ['incomplete'] });
  assert.is(wait({ text: 'yes um', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 700 }).waitMs, 1200);
  assert.is(wait({ text: '不，', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', speechMs: 320 }).waitMs, 200);
});

test('flow context: a number is complete enough when the step asked for one and the voice fell', () => {
  assert.is(wait({ text: '三千', context: amount, prosody: 'falling' }).waitMs, 700);
  assert.is(wait({ text: '三千', context: amount, prosody: 'level' }).waitMs, 950);
  // The same number where the step asked yes/no: someone reading out digit groups holds each one open, a sentence
  // that ends in a number (or the recognizer's stray digit) falls and waits as a sentence does.
  assert.equal(wait({ text: '三千', context: yesNo, prosody: 'level' }), { waitMs: 1200, cues: ['numberInProgress'] });
  assert.equal(wait({ text: '三千', context: yesNo, prosody: 'unknown' }), { waitMs: 1200, cues: ['numberInProgress'] });
  assert.equal(wait({ text: '上个月我已经在手机上还了三千', context: yesNo, prosody: 'falling', speechMs: 3200 }), { waitMs: 700, cues: ['numberInProgress', 'falling'] });
  // A short one is a group of digits, or a run-up the recognizer spelled as digits (我想想，就是， as 我现下九四,
  // whose 九四 also sounds like 就是).
  assert.equal(wait({ text: '我现下八四', context: yesNo, prosody: 'falling', speechMs: 1800 }), { waitMs: 1200, cues: ['numberInProgress'] });
  assert.equal(wait({ text: '我现下九四', context: yesNo, prosody: 'falling', speechMs: 1800 }), { waitMs: 1200, cues: ['incomplete'] });
  assert.is(wait({ text: '下周', context: date, prosody: 'falling' }).waitMs, 700);
  assert.ok(wait({ text: '下周三', context: date, prosody: 'falling' }).waitMs < 700, 'a full date with a falling end is short');
});

test('flow context: a step that asked for a day or an amount, none said yet, holds the turn open; said, the usual cues decide', () => {
  // 我想想，就是，... before 下周吧 (the bench's date turn, as the tiny model spelled it) and "let me see," are long
  // enough not to be a run-up, and hold no date.
  assert.equal(wait({ text: '我现下九什', context: date, valueHeld: false, speechMs: 2000, prosody: 'falling' }), { waitMs: 1200, cues: ['awaitingValue'] });
  assert.equal(wait({ text: 'let me see', context: date, valueHeld: false, speechMs: 1700, prosody: 'falling' }), { waitMs: 1200, cues: ['awaitingValue'] });
  // Digits that are no date yet (十五 before 号), where a date or amount step would otherwise take them as said.
  assert.equal(wait({ text: '十五', context: date, valueHeld: false, prosody: 'falling' }), { waitMs: 1200, cues: ['numberInProgress', 'awaitingValue'] });
  assert.equal(wait({ text: '三千', context: amount, valueHeld: true, prosody: 'falling' }), { waitMs: 700, cues: ['numberInProgress'] });
  // Held: as before. Not known (no check given): as before.
  assert.equal(wait({ text: '我现下九什', context: date, valueHeld: true, speechMs: 2000, prosody: 'falling' }), { waitMs: 420, cues: ['complete', 'falling'] });
  assert.equal(wait({ text: '我现下九什', context: date, speechMs: 2000, prosody: 'falling' }), { waitMs: 420, cues: ['complete', 'falling'] });
  // A question asked back, an answer the step lists (不需要) and a yes/no step are not held by it.
  assert.ok(wait({ text: '要带什么材料吗', context: date, valueHeld: false, speechMs: 2000 }).cues.includes('question'));
  assert.equal(wait({ text: '不需要', context: date, valueHeld: false, matchesExpected: true, expectedAtEnd: true, prosody: 'falling' }), { waitMs: 200, cues: ['expected'], early: true });
  assert.equal(wait({ text: '我已经还款了', context: yesNo, valueHeld: false, prosody: 'falling' }), { waitMs: 420, cues: ['complete', 'falling'] });
});

test('a transcript far shorter than its voice says little of the end: wait the cap, as for no text', () => {
  // "let me see, and," (1.9 s) heard as "thank", 那个 as "not" in a longer voice: no complete sentence.
  assert.equal(wait({ text: 'thank', speechMs: 1900, prosody: 'falling' }), { waitMs: 1200, cues: ['sparseText'] });
  assert.equal(wait({ text: '嗯 not', speechMs: 1700, prosody: 'falling', context: free }), { waitMs: 1200, cues: ['sparseText'] });
  // A number in a yes/no step: a falling end closes a sentence, not a stray digit in a voice the recognizer made
  // little of.
  assert.equal(wait({ text: 'do you need five', speechMs: 2600, prosody: 'falling' }), { waitMs: 700, cues: ['numberInProgress', 'falling'] });
  assert.equal(wait({ text: '二 five', speechMs: 2600, prosody: 'falling' }), { waitMs: 1200, cues: ['numberInProgress', 'sparseText'] });
  // Chinese is said at 3-5 characters a second: under 2 a second, the recognizer lost more than half of it. 我想想，
  // 就是， heard as 你 nine事; 嗯，那个， as 你么, which is no question asked.
  assert.equal(wait({ text: '你 nine事', speechMs: 2480, prosody: 'falling' }), { waitMs: 1200, cues: ['sparseText'] });
  assert.equal(wait({ text: '你么', speechMs: 1220, prosody: 'falling', context: free }), { waitMs: 1200, cues: ['sparseText'] });
  assert.ok(wait({ text: '你是哪里啊', speechMs: 1200, context: free }).cues.includes('question'), 'a question said at a caller\'s pace');
  assert.ok(wait({ text: '你么', speechMs: 900, context: free }).cues.includes('question'), 'too short to tell');
  // Fluent speech, however garbled, is no sparse transcript; nor is a short one.
  assert.equal(wait({ text: '我上个月已经还了', speechMs: 2000, prosody: 'falling' }), { waitMs: 420, cues: ['complete', 'falling'] });
  assert.equal(wait({ text: 'i have already paid', speechMs: 1800, prosody: 'falling' }), { waitMs: 420, cues: ['complete', 'falling'] });
  assert.equal(wait({ text: '我还了', speechMs: 900, prosody: 'falling', context: free }).cues, ['complete', 'freeAnswer', 'falling']);
  // A voice over 3 s is a sentence, not a filler, whatever the recognizer made of it: its end decides.
  assert.equal(wait({ text: 'thank you much', speechMs: 4000, prosody: 'falling' }), { waitMs: 420, cues: ['complete', 'falling'] });
});

test('an English call reads no Chinese cue from the characters a bilingual recognizer made of English words', () => {
  const enYesNo: TurnContext = { ...yesNo, lang: 'en' };
  // "I wanted to ask how much this service costs every month, ..." as the tiny model spelled it.
  const heard = 'i三 much do seven one nine还再';
  assert.equal(wait({ text: heard, context: yesNo, speechMs: 5800, prosody: 'falling' }), { waitMs: 1200, cues: ['incomplete'] });
  assert.equal(wait({ text: heard, context: enYesNo, speechMs: 5800, prosody: 'falling' }), { waitMs: 700, cues: ['numberInProgress', 'falling'] });
  assert.equal(wait({ text: 'i want to know why还', context: enYesNo, speechMs: 2000, prosody: 'falling' }), { waitMs: 420, cues: ['complete', 'falling'] });
  // Characters alone are no words in an English call; English cues still count in a Chinese one (我想 talk to ...).
  assert.equal(wait({ text: '还再', context: enYesNo, speechMs: 2000 }).cues, ['noText']);
  assert.equal(wait({ text: '我想 talk to', context: { ...yesNo, lang: 'zh' }, speechMs: 2000 }), { waitMs: 1200, cues: ['incomplete'] });
});

test('off-script complete sentence: prosody decides between short and long', () => {
  const falling = wait({ text: '我想问一下这个费用是多少钱', prosody: 'falling' });
  const level = wait({ text: '我想问一下这个费用是多少钱', prosody: 'level' });
  const unknown = wait({ text: '我已经还款了', prosody: 'unknown' });
  assert.ok(falling.waitMs < unknown.waitMs && unknown.waitMs < level.waitMs, JSON.stringify([falling, unknown, level]));
  assert.ok(wait({ text: '我已经还款了', prosody: 'falling' }).cues.includes('falling'));
  assert.ok(level.cues.includes('hold'));
});

test('a free comment waits longer than a yes/no step for the same text', () => {
  const inFree = wait({ text: '服务还可以', context: free, prosody: 'unknown' });
  const inYesNo = wait({ text: '服务还可以', context: yesNo, prosody: 'unknown' });
  assert.ok(inFree.waitMs > inYesNo.waitMs);
  assert.ok(inFree.cues.includes('freeAnswer'));
});

test('a question asked back gets a short wait; no transcript yet waits the cap', () => {
  const q = wait({ text: '请问你是谁', prosody: 'unknown' });
  assert.ok(q.waitMs < 700 && q.cues.includes('question'));
  // Voice with no word in it at all (fillers the model does not spell, words it does not know): no sign of an end.
  assert.equal(wait({ text: '' }), { waitMs: 1200, cues: ['noText'] });
  assert.equal(wait({ text: '', speechMs: 2500, prosody: 'falling' }), { waitMs: 1200, cues: ['noText'] });
  // A short sound with no word yet (um, 嗯 the model does not spell): a hesitation, hold the turn open.
  assert.equal(wait({ text: '', speechMs: 400 }), { waitMs: 1200, cues: ['noText', 'hesitation'] });
  // ... and so is a short sound the recognizer spelled as some unrelated word (那个 heard as "not").
  assert.equal(wait({ text: '嗯 not', speechMs: 550, prosody: 'falling' }), { waitMs: 1200, cues: ['hesitation'] });
  // A short expected answer is not a hesitation.
  assert.is(wait({ text: '是的', speechMs: 400, matchesExpected: true, expectedAtEnd: true }).waitMs, 200);
});

test('a closed question: a short utterance with none of its answers, opening with a filler or only a word or two, is the run-up to the answer', () => {
  // What the tiny model made of the bench's paused turns before they were cut: 嗯，那个，... / um, uh, ... / 我想想，...
  assert.equal(wait({ text: '嗯 not', speechMs: 1150, prosody: 'falling' }), { waitMs: 1200, cues: ['runUp'] });
  assert.equal(wait({ text: 'thank', speechMs: 1100, prosody: 'falling' }), { waitMs: 1200, cues: ['runUp'] });
  assert.equal(wait({ text: '我现下', context: date, speechMs: 900, prosody: 'falling' }), { waitMs: 1200, cues: ['runUp'] });
  // Not a run-up: a sentence, a date where the step asks for one, a free comment, a long utterance, a question,
  // an expected answer.
  assert.not.ok(wait({ text: '我已经还款了', prosody: 'falling' }).cues.includes('runUp'));
  assert.not.ok(wait({ text: 'i already paid it', prosody: 'falling' }).cues.includes('runUp'));
  assert.not.ok(wait({ text: '下周三', context: date, prosody: 'falling' }).cues.includes('runUp'));
  assert.not.ok(wait({ text: 'friday', context: date, prosody: 'falling' }).cues.includes('runUp'));
  assert.not.ok(wait({ text: '嗯 not', context: free, speechMs: 1150, prosody: 'falling' }).cues.includes('runUp'));
  assert.not.ok(wait({ text: 'thank', speechMs: 2000, prosody: 'falling' }).cues.includes('runUp'));
  assert.ok(wait({ text: '谁啊', speechMs: 800 }).cues.includes('question'));
  assert.is(wait({ text: '嗯是的', matchesExpected: true, expectedAtEnd: true, speechMs: 900, prosody: 'falling' }).waitMs, 200);
});

test('floor and cap bound every decision; an audio model probability maps between them', () => {
  const tight = { ...o, expectedMs: 50 };
  assert.is(endOfTurnWait({ text: '是的', matchesExpected: true, expectedAtEnd: true, context: yesNo, prosody: 'falling', speechMs: 500 }, tight).waitMs, 180);
  const sure = wait({ text: '我已经还款了', modelCompleteProbability: 1 });
  const unsure = wait({ text: '我已经还款了', modelCompleteProbability: 0 });
  assert.equal([sure.waitMs, unsure.waitMs], [180, 1200]);
  assert.ok(sure.cues.includes('model'));
  // Text cues still win over the model.
  assert.is(wait({ text: '然后', modelCompleteProbability: 1 }).waitMs, 1200);
});

test('dynamic endpointer: a pause after a filler is not an end, the same pause after an expected answer is', () => {
  let prosody: 'falling' | 'level' = 'level';
  const ep = new Endpointer(
    { mode: 'dynamic', trailingSilenceMs: 700, expectedTrailingSilenceMs: 200, maxUtteranceMs: 15000, floorMs: 180, capMs: 1200 },
    { prosody: () => prosody },
  );
  ep.setContext({ expects: 'date', phrases: ['下周还', '月底还'] });
  ep.speechStarted(0);
  ep.partial('嗯那个');
  ep.speechEnded(800);
  for (let t = 800; t <= 1700; t += 20) assert.is(ep.poll(t), undefined, `cut off during a 900 ms pause after a filler at ${t}`);
  ep.speechStarted(1700);
  ep.partial('嗯那个我下周还');
  prosody = 'falling';
  ep.speechEnded(2400);
  let d;
  for (let t = 2400; t <= 4000 && !d; t += 20) d = ep.poll(t);
  assert.ok(d);
  assert.is(d!.reason, 'expected');
  assert.is(d!.atMs - d!.speechEndMs, 200);
  assert.is(d!.speechStartMs, 0, 'one turn across the pause');
  assert.equal(d!.waitMs, 200);
});

// 嗯，那个，…… 是的 as the tiny model wrote it: 那个 as "not", and 嗯 once as 不嗯, where 不 and "no" are answers the
// step lists (the hum after 不 says the caller went on from it).
for (const c of [
  { name: 'a filler the recognizer spelled as a word', context: yesNo, prosody: 'falling', first: '嗯 not', then: '嗯 not 是的' },
  { name: 'an answer, a hum, then words that are none (不嗯 not)', context: { expects: 'yesNo', lang: 'zh', phrases: ['是的', '不', 'no'] }, prosody: 'level', first: '不嗯 not', then: '不嗯 not是的' },
] as const) {
  test(`dynamic endpointer: a yes/no step, ${c.name}, a 900 ms pause: one turn`, () => {
    const ep = new Endpointer(
      { mode: 'dynamic', trailingSilenceMs: 700, expectedTrailingSilenceMs: 200, maxUtteranceMs: 15000, floorMs: 180, capMs: 1200 },
      { prosody: () => c.prosody },
    );
    ep.setContext(c.context);
    ep.speechStarted(0);
    ep.partial(c.first);
    ep.speechEnded(1150);
    for (let t = 1150; t <= 2050; t += 20) assert.is(ep.poll(t), undefined, `cut off during the pause at ${t}`);
    ep.speechStarted(2050);
    ep.partial(c.then);
    ep.speechEnded(2600);
    let d;
    for (let t = 2600; t <= 4000 && !d; t += 20) d = ep.poll(t);
    assert.is(d?.reason, 'expected');
    assert.is(d!.speechStartMs, 0, 'one turn across the pause');
  });
}

test('an expected answer with a hum and more words after it is judged as if no answer had been said', () => {
  const humAfter = { text: '不嗯 not', matchesExpected: true, expectedAtEnd: false, humAfterAnswer: true, prosody: 'level', speechMs: 1100 } as const;
  assert.equal(wait(humAfter), { waitMs: 1200, cues: ['runUp'] });
  assert.equal(wait({ ...humAfter, humAfterAnswer: false }).cues, ['expected', 'hold']);
  // A longer sentence after the hum gets a sentence's wait, not the answer's 200 ms.
  assert.equal(wait({ text: '好的，嗯，我下周三再打给你', matchesExpected: true, humAfterAnswer: true, prosody: 'falling', speechMs: 2600 }), { waitMs: 420, cues: ['complete', 'falling'] });
});

test("dynamic endpointer: a date step's check of the transcript holds the turn through a pause until a day is said", () => {
  const ep = new Endpointer(
    { mode: 'dynamic', trailingSilenceMs: 700, expectedTrailingSilenceMs: 200, maxUtteranceMs: 15000, floorMs: 180, capMs: 1200 },
    { prosody: () => 'falling' },
  );
  const checked: string[] = [];
  const holdsValue = (text: string): boolean => {
    checked.push(text);
    return /下周|明天/.test(text);
  };
  ep.setContext({ ...date, holdsValue });
  ep.speechStarted(0);
  ep.partial('我想想');
  ep.speechEnded(1900);
  for (let t = 1900; t <= 2800; t += 20) assert.is(ep.poll(t), undefined, `cut off during the pause at ${t}`);
  ep.speechStarted(2800);
  ep.partial('我想想下周三');
  ep.speechEnded(3400);
  let d;
  for (let t = 3400; t <= 5000 && !d; t += 20) d = ep.poll(t);
  assert.is(d!.speechStartMs, 0, 'one turn across the pause');
  assert.is(d!.atMs - 3400, 420, 'a day said, with a falling end: the sentence wait');
  // The check runs when the transcript changes, not on every frame polled.
  assert.equal(checked, ['', '我想想', '我想想下周三']);
});

test('dynamic endpointer: the line loud again when the wait runs out holds the turn for the VAD, for at most 300 ms', () => {
  let loud = false;
  const ep = new Endpointer(
    { mode: 'dynamic', trailingSilenceMs: 700, expectedTrailingSilenceMs: 200, maxUtteranceMs: 15000, floorMs: 180, capMs: 1200 },
    { prosody: () => 'falling', voiceResuming: () => loud },
  );
  ep.setContext(yesNo);
  ep.speechStarted(0);
  ep.partial('我已经还款了');
  ep.speechEnded(1500);
  // The wait is 420 ms (complete, falling); the caller goes on at 400 ms, the VAD confirms it at 650 ms.
  for (let t = 1500; t < 1900; t += 20) assert.is(ep.poll(t), undefined);
  loud = true;
  for (let t = 1900; t < 2150; t += 20) assert.is(ep.poll(t), undefined, `decided while the line was loud at ${t}`);
  ep.speechStarted(2150);
  loud = false;
  ep.partial('我已经还款了上周');
  ep.speechEnded(2600);
  let d;
  for (let t = 2600; t <= 4000 && !d; t += 20) d = ep.poll(t);
  assert.is(d!.speechStartMs, 0, 'one turn');
  // A loud sound the VAD never takes for speech (a door): decided 300 ms past the wait at most, and at once when quiet.
  ep.speechStarted(4500);
  ep.partial('我已经还款了');
  ep.speechEnded(5500);
  loud = true;
  d = undefined;
  for (let t = 5500; t <= 7000 && !d; t += 20) d = ep.poll(t);
  assert.is(d!.atMs - 5500, 720);
  ep.speechStarted(7500);
  ep.partial('我已经还款了');
  ep.speechEnded(8500);
  d = undefined;
  for (let t = 8500; t <= 10000 && !d; t += 20) {
    loud = t < 9000;
    d = ep.poll(t);
  }
  assert.ok(d!.atMs - 8500 <= 520, `decided once quiet: ${d!.atMs - 8500}`);
});

test('dynamic endpointer: off-script falling sentence ends well before the old fixed 700 ms', () => {
  const ep = new Endpointer(
    { mode: 'dynamic', trailingSilenceMs: 700, expectedTrailingSilenceMs: 200, maxUtteranceMs: 15000 },
    { prosody: () => 'falling' },
  );
  ep.setContext(yesNo);
  ep.speechStarted(0);
  ep.partial('我想问一下这个费用是多少钱');
  ep.speechEnded(2000);
  let d;
  for (let t = 2000; t <= 4000 && !d; t += 20) d = ep.poll(t);
  assert.is(d!.reason, 'silence');
  assert.is(d!.atMs - 2000, 420);
});

/** Voiced frames of a pulse train whose pitch moves from f0 to f1 over `frames` 20 ms frames at 16 kHz. */
function voice(tracker: ProsodyTracker, frames: number, f0: number, f1: number, amp = 0.3): void {
  let phase = 0;
  const frame = new Float32Array(320);
  for (let k = 0; k < frames; k++) {
    const f = f0 + ((f1 - f0) * k) / Math.max(1, frames - 1);
    for (let i = 0; i < frame.length; i++) {
      phase += f / 16000;
      // A few harmonics, like a glottal source through a vocal tract, not a pure sine.
      frame[i] = amp * (Math.sin(2 * Math.PI * phase) + 0.5 * Math.sin(4 * Math.PI * phase) + 0.3 * Math.sin(6 * Math.PI * phase));
    }
    tracker.push(frame);
  }
}

test('prosody: falling pitch at the end reads falling, a level or rising end reads as a hold', () => {
  const t = new ProsodyTracker();
  voice(t, 30, 200, 200);
  voice(t, 8, 200, 130);
  assert.is(t.end(), 'falling');
  t.reset();
  voice(t, 38, 180, 185);
  assert.is(t.end(), 'level');
  t.reset();
  voice(t, 30, 160, 160);
  voice(t, 8, 170, 230);
  assert.is(t.end(), 'rising');
  t.reset();
  assert.is(t.end(), 'unknown', 'nothing voiced yet');
});

/** 20 ms frames of line noise at about -50 dBFS: what the VAD still counts as speech for a while after the voice stops. */
function lineNoise(tracker: ProsodyTracker, frames: number): void {
  const frame = new Float32Array(320);
  let seed = 7;
  for (let k = 0; k < frames; k++) {
    for (let i = 0; i < frame.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      frame[i] = (seed / 4294967296 - 0.5) * 0.01;
    }
    tracker.push(frame);
  }
}

test('prosody: the silence the VAD still calls speech after the voice does not read as a fade', () => {
  const t = new ProsodyTracker();
  voice(t, 12, 100, 100);
  voice(t, 6, 100, 125);
  lineNoise(t, 10);
  assert.is(t.end(), 'rising');
  t.reset();
  voice(t, 18, 110, 110);
  lineNoise(t, 10);
  assert.is(t.end(), 'level');
  t.reset();
  // A voice that does fade (the last frames 20 dB down) still reads falling.
  voice(t, 15, 110, 110);
  voice(t, 4, 110, 110, 0.03);
  lineNoise(t, 10);
  assert.is(t.end(), 'falling');
});

test('prosody: a low voice falling below 80 Hz, and a short answer of eight voiced frames (160 ms), are read', () => {
  const t = new ProsodyTracker();
  voice(t, 8, 95, 95);
  voice(t, 4, 90, 66);
  assert.is(t.end(), 'falling');
  t.reset();
  voice(t, 6, 95, 95);
  voice(t, 2, 100, 120);
  assert.is(t.end(), 'rising');
});

test('prosody: the weak burst of a final consonant (the t of "repeat"), read as a high pitch, does not turn a fall into a rise', () => {
  const t = new ProsodyTracker();
  voice(t, 12, 110, 110);
  voice(t, 8, 105, 78);
  voice(t, 4, 300, 300, 0.02);
  assert.is(t.end(), 'falling');
});

test('prosody: a voice that dips and comes back up at the end (espeak\'s "yes,") rose; one that falls from its peak fell', () => {
  const t = new ProsodyTracker();
  voice(t, 10, 104, 104);
  voice(t, 3, 84, 84);
  voice(t, 4, 88, 104);
  assert.is(t.end(), 'rising');
  t.reset();
  voice(t, 10, 100, 100);
  voice(t, 8, 100, 76);
  assert.is(t.end(), 'falling');
  t.reset();
  // A steady rise over the whole end, with no turning point in it.
  voice(t, 6, 100, 100);
  voice(t, 10, 100, 125);
  assert.is(t.end(), 'rising');
});

test('prosody: one frame an octave off at the end does not turn a level voice into a rise', () => {
  const t = new ProsodyTracker();
  voice(t, 14, 110, 110);
  voice(t, 1, 220, 220);
  assert.is(t.end(), 'level');
});

test('prosody: audio pushed as one stretch (the VAD confirmed it late) reads as the same frames pushed one by one', () => {
  const stretch = new Float32Array(320 * 18);
  let phase = 0;
  for (let i = 0; i < stretch.length; i++) {
    const f = i < 320 * 12 ? 100 : 100 + (30 * (i - 320 * 12)) / (320 * 6);
    phase += f / 16000;
    stretch[i] = 0.3 * (Math.sin(2 * Math.PI * phase) + 0.5 * Math.sin(4 * Math.PI * phase));
  }
  const whole = new ProsodyTracker();
  whole.push(stretch);
  const framed = new ProsodyTracker();
  for (let at = 0; at < stretch.length; at += 320) framed.push(stretch.subarray(at, at + 320));
  assert.is(whole.voicedFrames, 18);
  assert.is(whole.end(), framed.end());
  assert.is(whole.end(), 'rising');
});

test("a caller known to pause (callerPauseMs): no shorter silence ends the turn; longer waits stand; never past the cap", () => {
  const pauser = { ...yesNo, callerPauseMs: 640 };
  const expected = wait({ text: '是的', matchesExpected: true, expectedAtEnd: true, prosody: 'falling', context: pauser });
  assert.equal(expected, { waitMs: 790, cues: ['expected', 'callerPauses'] });
  assert.equal(wait({ text: '是的', matchesExpected: true, expectedAtEnd: true, prosody: 'falling' }), { waitMs: 200, cues: ['expected'], early: true }, 'without it');
  // A wait already longer is kept as it is.
  assert.equal(wait({ text: '我想', context: pauser }), { waitMs: 1200, cues: ['incomplete'] });
  // A pause longer than the cap allows waits the cap.
  const long = wait({ text: '是的', matchesExpected: true, expectedAtEnd: true, context: { ...yesNo, callerPauseMs: 1500 } });
  assert.equal(long, { waitMs: 1200, cues: ['expected', 'callerPauses'] });
});

test.run();
