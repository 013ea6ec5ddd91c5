import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IntentClassifier, builtinIntents, compileIntent } from '../../src/dialog/nlu/index.ts';

const zh = new IntentClassifier('zh', Object.entries(builtinIntents.zh).map(([n, s]) => compileIntent(n, s)));
const opts = { now: new Date('2024-05-15T02:00:00Z'), timeZone: 'Asia/Shanghai', threshold: 0.5 };
const yesNo = ['yes', 'no', 'maybe'];

// Transcripts the streaming ASR really produced on simulated calls (stuttered characters), and callers repeating.
test('a stuttered refusal is still a refusal', () => {
  assert.is(zh.classify('不需需要', yesNo, opts).intent, 'no');
  assert.is(zh.classify('不不需要', yesNo, opts).intent, 'no');
  assert.is(zh.classify('不不不', yesNo, opts).intent, 'no');
});

test('stuttered and repeated agreement is still agreement', () => {
  assert.is(zh.classify('是是是', yesNo, opts).intent, 'yes');
  assert.is(zh.classify('是的的', yesNo, opts).intent, 'yes');
});

test('a stuttered question about the caller id reaches the global intent', () => {
  assert.is(zh.classify('请请问你是谁谁', [...yesNo, 'who_are_you'], opts).intent, 'who_are_you');
});

test.run();
