import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LegCloseReason } from '../../src/media/index.ts';
import { until } from '../support/e2e.ts';
import { FakeLeg, ramp, sleep } from './fake-leg.ts';

// The pacer runs on real timers and resynchronises after a stall instead of bursting, so these tests wait for the
// frames they expect (a deadline that only catches a hang) rather than count them at a fixed instant.

test('the first frame leaves synchronously when idle, then real time', async () => {
  const leg = new FakeLeg();
  const played: number[] = [];
  leg.on('played', (pcm) => played.push(pcm[0]));
  const start = performance.now();
  leg.play(ramp(160 * 10));
  assert.is(leg.written.length, 1, 'first frame sent inside play()');
  assert.equal(Array.from(leg.written[0].pcm), Array.from(ramp(160)));
  assert.is(leg.queuedMs, 180);
  await until(() => leg.written.length >= 10, '10 paced frames');
  await sleep(40);
  assert.is(leg.written.length, 10, 'nothing after the queue ran dry');
  assert.equal(played, [1, 161, 321, 481, 641, 801, 961, 1121, 1281, 1441]);
  const span = leg.written[9].at - start;
  // Nine 20 ms intervals at least: never faster than real time. A busy machine only makes it slower.
  assert.ok(span >= 175, `10 frames took ${span.toFixed(1)} ms`);
  assert.is(leg.stats.framesOut, 10);
  assert.is(leg.queuedMs, 0);
  await leg.close({ code: 'shutdown' });
});

test('audio queued while pacing follows on the schedule without a gap', async () => {
  const leg = new FakeLeg();
  leg.play(ramp(320));
  await sleep(25);
  leg.play(ramp(320, 1000));
  await until(() => leg.written.length >= 4, '4 frames');
  const firsts = leg.written.map((w) => w.pcm[0]);
  assert.equal(firsts, [1, 161, 1000, 1160]);
  await leg.close({ code: 'shutdown' });
});

test('a final partial frame is padded with silence', async () => {
  const leg = new FakeLeg();
  leg.play(ramp(200));
  await until(() => leg.written.length >= 2, '2 frames');
  await sleep(40);
  assert.is(leg.written.length, 2);
  const last = leg.written[1].pcm;
  assert.is(last[39], 200);
  assert.ok(last.subarray(40).every((s) => s === 0));
  await leg.close({ code: 'shutdown' });
});

test('a fragment queued when idle waits one tick for the rest of its frame', async () => {
  const leg = new FakeLeg();
  leg.play(ramp(100));
  leg.play(ramp(60, 101));
  assert.is(leg.written.length, 0);
  await sleep(10);
  assert.is(leg.written.length, 1);
  assert.equal(Array.from(leg.written[0].pcm), Array.from(ramp(160)));
  await leg.close({ code: 'shutdown' });
});

test('marks fire when the pacer passes their position, in order', async () => {
  const leg = new FakeLeg();
  const events: string[] = [];
  leg.on('played', () => events.push('frame'));
  leg.on('mark', (name) => events.push(name));
  leg.play(ramp(320));
  leg.mark('a');
  leg.play(ramp(160));
  leg.mark('b');
  await until(() => events.includes('b'), 'mark b');
  assert.equal(events, ['frame', 'frame', 'a', 'frame', 'b']);
  // Set in the pacer's last slot (the queue is empty, the pacer not yet idle): heard already, so it fires without
  // waiting for more audio.
  leg.mark('idle');
  await until(() => events.includes('idle'), 'the mark set after the last frame');
  assert.equal(events, ['frame', 'frame', 'a', 'frame', 'b', 'idle']);
  leg.mark('later');
  await until(() => events.includes('later'), 'a mark set while idle');
  await leg.close({ code: 'shutdown' });
});

test('flush drops queue and marks, tells the wire, and the next tick sends nothing', async () => {
  const leg = new FakeLeg();
  const marks: string[] = [];
  leg.on('mark', (name) => marks.push(name));
  leg.play(ramp(160 * 50));
  leg.mark('end-of-prompt');
  await sleep(50);
  const sentBefore = leg.written.length;
  const dropped = leg.flush();
  assert.is(leg.flushes, 1);
  assert.is(dropped, (50 - sentBefore) * 20);
  assert.is(leg.queuedMs, 0);
  await sleep(60);
  assert.is(leg.written.length, sentBefore, 'nothing written after flush');
  assert.equal(marks, []);
  // A new prompt after barge-in starts at once.
  leg.play(ramp(160, 5000));
  assert.is(leg.written.length, sentBefore + 1);
  assert.is(leg.written.at(-1)?.pcm[0], 5000);
  assert.is(leg.flush(), 0);
  await leg.close({ code: 'shutdown' });
});

test('flush inside a played listener stops the very next frame', async () => {
  const leg = new FakeLeg();
  leg.on('played', (pcm) => {
    if (pcm[0] === 161) leg.flush();
  });
  leg.play(ramp(160 * 10));
  await sleep(100);
  assert.is(leg.written.length, 2);
  await leg.close({ code: 'shutdown' });
});

test('the queue is capped at maxQueuedMs with a warning', async () => {
  const leg = new FakeLeg({ maxQueuedMs: 1000 });
  const warnings: Error[] = [];
  leg.on('warning', (err) => warnings.push(err));
  leg.play(new Int16Array(8000 * 1.5));
  assert.is(warnings.length, 1);
  assert.match(warnings[0].message, /queue full/);
  assert.is(leg.stats.droppedFrames, 25);
  assert.ok(leg.queuedMs <= 1000);
  await leg.close({ code: 'shutdown' });
});

test('caller frames, DTMF and wrong-sized frames', async () => {
  const leg = new FakeLeg({ sampleRate: 16000 });
  const frames: number[] = [];
  const digits: string[] = [];
  const warnings: string[] = [];
  leg.on('frame', (pcm) => frames.push(pcm.length));
  leg.on('dtmf', (d) => digits.push(d));
  leg.on('warning', (err) => warnings.push(err.message));
  leg.callerFrame(new Int16Array(320));
  leg.callerFrame(new Int16Array(160));
  leg.callerDtmf('#');
  assert.equal(frames, [320]);
  assert.equal(digits, ['#']);
  assert.is(warnings.length, 1);
  assert.is(leg.stats.framesIn, 1);
  await leg.close({ code: 'shutdown' });
});

test('close is idempotent, emits once and stops the pacer', async () => {
  const leg = new FakeLeg();
  const closes: LegCloseReason[] = [];
  leg.on('close', (reason) => closes.push(reason));
  leg.play(ramp(160 * 20));
  const first = leg.close({ code: 'bot_hangup', detail: 'goodbye' });
  const second = leg.close({ code: 'shutdown' });
  await Promise.all([first, second]);
  assert.ok(leg.closed);
  assert.equal(closes, [{ code: 'bot_hangup', detail: 'goodbye' }]);
  assert.equal(leg.closedWith, { code: 'bot_hangup', detail: 'goodbye' });
  const sent = leg.written.length;
  leg.play(ramp(160));
  await sleep(50);
  assert.is(leg.written.length, sent);
});

test('a wire that closes by itself emits close once without closeWire', async () => {
  const leg = new FakeLeg();
  const closes: string[] = [];
  leg.on('close', (reason) => closes.push(reason.code));
  leg.play(ramp(160 * 20));
  leg.hangUpFromWire({ code: 'caller_hangup' });
  leg.hangUpFromWire({ code: 'transport_error' });
  await leg.close({ code: 'shutdown' });
  assert.equal(closes, ['caller_hangup']);
  assert.is(leg.closedWith, undefined);
  const sent = leg.written.length;
  await sleep(50);
  assert.is(leg.written.length, sent);
});

test('a blocked event loop is counted in lateFrames', async () => {
  const leg = new FakeLeg();
  leg.play(ramp(160 * 10));
  const stalledUntil = performance.now() + 60;
  while (performance.now() < stalledUntil) {
    // Simulates a stalled event loop (GC pause, heavy sync work).
  }
  await until(() => leg.written.length >= 10, '10 frames');
  assert.ok(leg.stats.lateFrames >= 1, `lateFrames ${leg.stats.lateFrames}`);
  assert.is(leg.written.length, 10);
  await leg.close({ code: 'shutdown' });
});

test.run();
