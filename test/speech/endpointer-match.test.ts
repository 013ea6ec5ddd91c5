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
  assert.equal(expected.match('再说一'), { matches: true, atEnd: true });
  assert.equal(expected.match('嗯再见说一遍'), { matches: true, atEnd: true });
  assert.equal(expected.match('please repea'), { matches: true, atEnd: true });
  // Something said after it: inside, not at the end.
  assert.equal(expected.match('再说一遍然后呢'), { matches: true, atEnd: false });
  assert.equal(expected.match('please repeat nine four'), { matches: true, atEnd: false });
  // Short phrases stay exact at the end as anywhere.
  assert.equal(expected.match('我是'), { matches: false, atEnd: false });
});

test('short phrases must match exactly: one character off is a different word', () => {
  const expected = new ExpectedAnswers();
  expected.set(['是的', '不是']);
  assert.not.ok(expected.matches('是我'));
  assert.not.ok(expected.matches('不对'));
  assert.ok(expected.matches('嗯是的'));
});

test('stuttered characters count once', () => {
  const expected = new ExpectedAnswers();
  expected.set(['不需要']);
  assert.ok(expected.matches('不需需要'));
  assert.ok(expected.matches('不不需要'));
});

test.run();
