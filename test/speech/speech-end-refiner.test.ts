import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SpeechEndRefiner } from '../../src/speech/speech-end-refiner.ts';

function frame(level: number): Float32Array {
  const f = new Float32Array(320);
  for (let i = 0; i < f.length; i++) f[i] = (i % 2 === 0 ? 1 : -1) * level;
  return f;
}

/** Feeds frames of the given levels, 20 ms each starting at 0; speaking while the VAD would say so. */
function feed(r: SpeechEndRefiner, levels: number[], speakingUntilMs: number): void {
  levels.forEach((level, i) => r.push(frame(level), (i + 1) * 20, (i + 1) * 20 <= speakingUntilMs));
}

test('walks back from a late VAD end to the last voiced frame', () => {
  const r = new SpeechEndRefiner();
  r.startUtterance();
  // 0.4 s of voice ending at 600 ms, then line noise; the VAD only noticed at 800 ms.
  const levels = [...new Array(10).fill(0.001), ...new Array(20).fill(0.3), ...new Array(15).fill(0.001)];
  feed(r, levels, 800);
  assert.is(r.refine(800, 200), 600);
});

test('on a noisy line (noise within 25 dB of the voice) the VAD end stands', () => {
  const r = new SpeechEndRefiner();
  r.startUtterance();
  const levels = [...new Array(10).fill(0.05), ...new Array(20).fill(0.3), ...new Array(15).fill(0.05)];
  feed(r, levels, 800);
  assert.is(r.refine(800, 200), 800);
});

test('never before the start of speech, never after the VAD end', () => {
  const r = new SpeechEndRefiner();
  r.startUtterance();
  feed(r, [...new Array(10).fill(0.3), ...new Array(10).fill(0.0001)], 400);
  assert.is(r.refine(300, 250), 250);
  const quiet = new SpeechEndRefiner();
  assert.is(quiet.refine(500, 100), 500, 'no utterance measured: nothing to refine');
});

test('the last voiced frame is known as it arrives, and forgotten at the next utterance', () => {
  const r = new SpeechEndRefiner();
  r.startUtterance();
  assert.is(r.lastVoiceEndMs, undefined);
  const levels = [...new Array(10).fill(0.001), ...new Array(20).fill(0.3), ...new Array(5).fill(0.001)];
  feed(r, levels, 800);
  assert.is(r.lastVoiceEndMs, 600);
  assert.ok(r.push(frame(0.3), 720, true), 'a loud frame is voice');
  assert.not.ok(r.push(frame(0.001), 740, true), 'line noise 49 dB under the voice is not');
  assert.is(r.lastVoiceEndMs, 720);
  r.startUtterance();
  assert.is(r.lastVoiceEndMs, undefined);
});

test.run();
