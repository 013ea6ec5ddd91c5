import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ExpectedAnswers } from '../../src/speech/endpointer-match.ts';

// Transcripts the tiny streaming model really produced on simulated calls.
test('a longer expected phrase matches with one character wrong, missing or extra', () => {
  const expected = new ExpectedAnswers();
  expected.set(['再说一遍', '转人工', '是的']);
  assert.ok(expected.matches('再见说一遍'), 'one extra character');
  assert.ok(expected.matches('再说遍'), 'one missing character');
  assert.ok(expected.matches('在说一遍'), 'one wrong character');
  assert.not.ok(expected.matches('再见'), 'two missing characters is another answer');
});

test('a longer phrase said last, give or take one character, is the answer the transcript ends with', () => {
  const expected = new ExpectedAnswers();
  expected.set(['再说一遍', '是的', 'please repeat']);
  // The cost proxy's final for 再说一遍: its trailing 一 must not read as a number still being spoken.
  assert.equal(expected.match('再说一'), { matches: true, atEnd: true, humAfter: false });
  assert.equal(expected.match('嗯再见说一遍'), { matches: true, atEnd: true, humAfter: false });
  assert.equal(expected.match('please repea'), { matches: true, atEnd: true, humAfter: false });
  // Something said after it: inside, not at the end.
  assert.equal(expected.match('再说一遍然后呢'), { matches: true, atEnd: false, humAfter: false });
  assert.equal(expected.match('please repeat nine four'), { matches: true, atEnd: false, humAfter: false });
  // Short phrases stay exact at the end as anywhere.
  assert.equal(expected.match('我是'), { matches: false, atEnd: false, humAfter: false });
});

test('a hum after the answer, then words that are no answer: the caller went on from it', () => {
  const expected = new ExpectedAnswers();
  expected.set(['是的', '不', '需要', 'yes', 'no']);
  // The tiny model's final for 嗯，那个，(是的): 嗯 heard as 不嗯, 那个 as "not".
  assert.equal(expected.match('不嗯 not'), { matches: true, atEnd: false, humAfter: true });
  assert.equal(expected.match('yes, um, about the fee'), { matches: true, atEnd: false, humAfter: true });
  // A hum before the answer, or an answer again after the hum (a self-correction ends on its answer).
  assert.equal(expected.match('嗯 not是的'), { matches: true, atEnd: true, humAfter: false });
  assert.equal(expected.match('yes um no'), { matches: true, atEnd: true, humAfter: false });
  assert.equal(expected.match('是的嗯需要的话'), { matches: true, atEnd: false, humAfter: false });
  // Words after the answer with no hum between: the transcript holds the answer, as before.
  assert.equal(expected.match('是的我知道了'), { matches: true, atEnd: false, humAfter: false });
  // A hum with nothing after it is a trailing filler (end-of-turn reads that itself), no hum between two parts.
  assert.equal(expected.match('不嗯'), { matches: true, atEnd: true, humAfter: false });
  // No answer before the hum: nothing to have gone on from.
  assert.equal(expected.match('我想嗯 not'), { matches: false, atEnd: false, humAfter: false });
});

test('short phrases must match exactly: one character off is a different word', () => {
  const expected = new ExpectedAnswers();
  expected.set(['是的', '不是']);
  assert.not.ok(expected.matches('是我'));
  assert.not.ok(expected.matches('不对'));
  assert.ok(expected.matches('嗯是的'));
});

test('Latin phrases match whole words only: "no" is no answer inside "not" or "know"', () => {
  const expected = new ExpectedAnswers();
  expected.set(['no', 'yes', 'please repeat', '不']);
  for (const t of ['not', "i don't know", 'nothing', 'yesterday', 'eyes']) assert.equal(expected.match(t), { matches: false, atEnd: false, humAfter: false }, t);
  assert.equal(expected.match('no thanks'), { matches: true, atEnd: false, humAfter: false });
  assert.equal(expected.match('oh no'), { matches: true, atEnd: true, humAfter: false });
  // Next to Chinese text a Latin word still has its edges; a phrase missing one letter at the end still matches.
  assert.equal(expected.match('我说no'), { matches: true, atEnd: true, humAfter: false });
  assert.equal(expected.match('please repea'), { matches: true, atEnd: true, humAfter: false });
  assert.equal(expected.match('pleaserepeat'), { matches: true, atEnd: true, humAfter: false }, 'the space is the one edit');
});

test('stuttered characters count once', () => {
  const expected = new ExpectedAnswers();
  expected.set(['不需要']);
  assert.ok(expected.matches('不需需要'));
  assert.ok(expected.matches('不不需要'));
});

test.run();
