import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { soundsAlike, toneOf } from '../../src/core/index.ts';

test('the tone of a character is that of its main reading; neutral tones and non-Han characters have none', () => {
  assert.equal(['不', '是', '好', '行', '恩'].map(toneOf), [4, 4, 3, 2, 1]);
  assert.is(toneOf('的'), undefined);
  assert.is(toneOf('a'), undefined);
  assert.is(toneOf('不'), 4, 'cached, the same');
});

test('sound-alikes are shared below the stages: 九 and 就, 什 and 是 (shen / shi), not 知 and 是', () => {
  assert.ok(soundsAlike('九', '就'));
  assert.ok(soundsAlike('什', '是'));
  assert.not.ok(soundsAlike('知', '是'));
});

test.run();
