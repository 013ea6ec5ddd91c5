import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OnsetDetector } from '../../src/speech/index.ts';

function frame(rms: number, seed = 1): Int16Array {
  const pcm = new Int16Array(160);
  let x = seed;
  for (let i = 0; i < pcm.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    pcm[i] = Math.round(((x / 2147483648) * 2 - 1) * rms * Math.SQRT2 * 1.2);
  }
  return pcm;
}

test('fires once after three loud frames over a quiet line', () => {
  const d = new OnsetDetector();
  const fired: number[] = [];
  for (let i = 0; i < 50; i++) if (d.push(frame(30, i + 1))) fired.push(i);
  for (let i = 50; i < 70; i++) if (d.push(frame(3000, i + 1))) fired.push(i);
  assert.equal(fired, [52]);
});

test('two loud frames (a click) do not fire', () => {
  const d = new OnsetDetector();
  let fired = false;
  for (let i = 0; i < 50; i++) fired ||= d.push(frame(30, i + 1));
  fired ||= d.push(frame(3000, 7));
  fired ||= d.push(frame(3000, 8));
  for (let i = 0; i < 10; i++) fired ||= d.push(frame(30, i + 99));
  assert.not.ok(fired);
});

test('steady loud line noise raises the floor instead of firing forever', () => {
  const d = new OnsetDetector();
  let fires = 0;
  // Noise that starts suddenly fires once, then becomes the floor; speech well above it fires again.
  for (let i = 0; i < 400; i++) if (d.push(frame(400, i + 1))) fires++;
  assert.is(fires, 1);
  let speech = 0;
  for (let i = 0; i < 10; i++) if (d.push(frame(6000, i + 500))) speech++;
  assert.is(speech, 1);
});

test('faint sound under the absolute minimum never fires', () => {
  const d = new OnsetDetector();
  let fired = false;
  for (let i = 0; i < 100; i++) fired ||= d.push(frame(i < 50 ? 0 : 100, i + 1)); // about -50 dBFS
  assert.not.ok(fired);
});

test('a loud run that ends is reported on the quiet frame after it, once; a line loud for seconds ends none', () => {
  const d = new OnsetDetector();
  for (let i = 0; i < 50; i++) d.push(frame(30, i + 1));
  for (let i = 0; i < 12; i++) d.push(frame(3000, i + 60));
  assert.is(d.endedRunFrames, 0, 'still loud');
  d.push(frame(30, 99));
  assert.is(d.endedRunFrames, 12);
  d.push(frame(30, 100));
  assert.is(d.endedRunFrames, 0, 'reported once');
  // 3 s and more of loud line becomes the floor: no sound ended there.
  let ended = 0;
  for (let i = 0; i < 200; i++) {
    d.push(frame(3000, i + 200));
    ended = Math.max(ended, d.endedRunFrames);
  }
  assert.is(ended, 0);
});

test.run();
