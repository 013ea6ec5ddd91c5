import { EventEmitter } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EarlyMediaClassifier, SitDetector, type CallSpeech, type SitEvent } from '../../src/speech/index.ts';
import { chinaBusy, chinaRingback, concat, silence, tone } from '../support/progress-audio.ts';

/*
 * Special information tones on generated audio, fed in 20 ms frames as a line delivers them: the vacant-number codes
 * (intercept, vacant code) give `invalid_number`, the network ones (reorder, no circuit) `unreachable`; China's
 * progress tones, a lone 1776.7 Hz tone and segments out of order give nothing.
 */

const S = 274;
const L = 380;

/** A SIT: [frequency, ms] of the first two segments, then 1776.7 Hz long, after `leadMs` of silence (off the frame grid). */
function sit(first: [number, number], second: [number, number], leadMs = 7): Int16Array {
  return concat([silence(leadMs), tone(first[0], first[1], 0.2), tone(second[0], second[1], 0.2), tone(1776.7, L, 0.2), silence(300)]);
}

function frames(pcm: Int16Array, feed: (frame: Int16Array) => void): void {
  for (let i = 0; i + 160 <= pcm.length; i += 160) feed(pcm.subarray(i, i + 160));
}

function detect(pcm: Int16Array): SitEvent | undefined {
  const d = new SitDetector({ sampleRate: 8000 });
  let hit: SitEvent | undefined;
  frames(pcm, (f) => (hit ??= d.push(f)));
  return hit;
}

test('intercept and vacant code (a short 1370.6 Hz second segment) are invalid numbers', () => {
  const ic = detect(sit([913.8, S], [1370.6, S]));
  assert.equal([ic?.kind, ic?.code], ['invalid_number', 'vacant'], JSON.stringify(ic));
  assert.match(ic!.segments, /^913\.8\/2\d\d 1370\.6\/2\d\d 1776\.7\/3\d\d$/);
  const vc = detect(sit([985.2, L], [1370.6, S], 13));
  assert.equal([vc?.kind, vc?.code], ['invalid_number', 'vacant'], JSON.stringify(vc));
});

test('reorder and no circuit (a long or a 1428.5 Hz second segment) are network conditions: unreachable, retried', () => {
  for (const [first, second] of [
    [[913.8, S], [1428.5, L]],
    [[985.2, L], [1428.5, L]],
    [[913.8, L], [1370.6, L]],
    [[985.2, S], [1370.6, L]],
  ] as [[number, number], [number, number]][]) {
    const hit = detect(sit(first, second));
    assert.equal([hit?.kind, hit?.code], ['unreachable', 'network'], `${first} ${second}: ${JSON.stringify(hit)}`);
  }
});

test('no SIT: China busy and ringback, a lone 1776.7 Hz tone, segments out of order or too short, speech-like sweeps', () => {
  assert.is(detect(chinaBusy(4000)), undefined);
  assert.is(detect(chinaRingback(6000)), undefined);
  assert.is(detect(concat([tone(1776.7, 1200, 0.2), silence(300)])), undefined);
  assert.is(detect(concat([tone(1776.7, L, 0.2), tone(1370.6, S, 0.2), tone(913.8, S, 0.2), silence(300)])), undefined, 'falling, not rising');
  assert.is(detect(concat([tone(913.8, 100, 0.2), tone(1370.6, 100, 0.2), tone(1776.7, 100, 0.2), silence(300)])), undefined, 'segments too short');
  assert.is(detect(concat([tone(913.8, S, 0.2), silence(400), tone(1370.6, S, 0.2), tone(1776.7, L, 0.2), silence(300)])), undefined, 'a long gap breaks the sequence');
});

/** A listener that hears nothing: the SIT alone must decide. */
class DeafSpeech extends EventEmitter {
  push(): void {}
  close(): void {}
}

test('the early-media classifier hangs up on a SIT before the announcement is read: verdict, evidence and timing', async () => {
  const classifier = new EarlyMediaClassifier({ speech: { createCall: () => new DeafSpeech() as unknown as CallSpeech }, callId: 'c1', lang: 'en' });
  classifier.onSignal('early_media');
  frames(concat([sit([913.8, S], [1370.6, S]), silence(3000)]), (f) => classifier.onAudio(f, 8000));
  const v = await classifier.verdict;
  assert.equal([v.kind, v.source, v.heard], ['invalid_number', 'tone', 'announcement']);
  assert.match(v.evidence ?? '', /^SIT vacant 913\.8\//);
  // Decided when the third segment ended (7 + 274 + 274 + 380 ms of audio), not seconds later.
  assert.ok(v.atMs !== undefined && v.atMs >= 900 && v.atMs <= 1000, `atMs ${v.atMs}`);
  assert.is(classifier.stop(), 'announcement');
});

test.run();
