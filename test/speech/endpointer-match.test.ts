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
