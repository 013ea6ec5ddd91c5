import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LegCloseReason } from '../../src/media/index.ts';
import { FakeLeg, sleep } from './fake-leg.ts';
import { until } from '../support/wait.ts';

/**
 * The caller clock: when caller audio stops (silence suppression, mute, dead media) a leg delivers silence frames
 * in real time. Bounds are taken from the elapsed time the test itself measures, so a slow machine only widens
 * them; they never depend on the machine being fast.
 */

function speech(): Int16Array {
  return Int16Array.from({ length: 160 }, (_, i) => (i % 2 ? 3000 : -3000));
}

test('frames keep coming in real time once caller audio stops, and real audio takes over again', async () => {
  const leg = new FakeLeg();
  const frames: number[] = [];
  leg.on('frame', (pcm) => frames.push(pcm[0]));
  const start = performance.now();
  leg.callerFrame(speech());
  await sleep(500);
  // Every frame period since the last real frame is due once the gap allowance has passed. On a busy machine the
  // fill timer may not have run yet when this test wakes up; it catches up in one go when it does: wait for that
  // (generous deadline) rather than count frames against the wall clock at one instant.
  const dueBy = Math.floor((performance.now() - start) / 20) - 2;
  await until(() => leg.stats.framesFilled >= dueBy, `${dueBy} silence frames`, 10_000);
  // Never more than the frame periods elapsed: read the count first, then the clock (which only moves on).
  const filled = leg.stats.framesFilled;
  const elapsed = performance.now() - start;
  assert.ok(filled <= Math.floor(elapsed / 20) + 1, `${filled} silence frames in ${elapsed.toFixed(0)} ms (too many)`);
  assert.ok(leg.fillingCallerGap);
  assert.ok(frames.slice(1).every((s) => s === 0), 'fill frames are digital silence');
  assert.is(leg.stats.framesIn, 1, 'fill frames are not counted as caller audio');

  leg.callerFrame(speech());
  assert.not.ok(leg.fillingCallerGap, 'real audio ends the fill at once');
  const afterResume = leg.stats.framesFilled;
  let lastSent = performance.now();
  let longestGap = 0;
  for (let i = 0; i < 5; i++) {
    await sleep(20);
    longestGap = Math.max(longestGap, performance.now() - lastSent);
    leg.callerFrame(speech());
    lastSent = performance.now();
  }
  // A stalled test process can itself leave a gap longer than the allowance (200 ms); then a fill is right.
  if (longestGap < 180) assert.is(leg.stats.framesFilled, afterResume, 'no fill while frames arrive every 20 ms');
  else process.stderr.write(`  (machine stalled ${longestGap.toFixed(0)} ms between frames: the no-fill check is skipped)\n`);
  await leg.close({ code: 'bot_hangup' });
  const closedAt = leg.stats.framesFilled;
  await sleep(200);
  assert.is(leg.stats.framesFilled, closedAt, 'nothing after close');
});

test('a leg handed over before any caller audio hears silence from then on (caller silent at first)', async () => {
  const leg = new FakeLeg();
  let frames = 0;
  leg.on('frame', () => frames++);
  await sleep(200);
  assert.is(frames, 0, 'the clock does not run before it is started');
  leg.startCallerClock();
  // 200 ms of gap allowance, then a frame every 20 ms: 8 frames are due 360 ms after the start.
  await until(() => frames >= 8, '8 frames of caller silence', 10_000);
  await leg.close({ code: 'bot_hangup' });
});

test('the dead-media timeout closes the leg with dead_media; real audio keeps it alive', async () => {
  // 2 s: audio sent every 100 ms must not look dead even when this busy machine stalls the test for a while.
  const leg = new FakeLeg({ clock: { deadMediaMs: 2000 } });
  const closed: LegCloseReason[] = [];
  leg.on('close', (r) => closed.push(r));
  leg.callerFrame(speech());
  // Audio every 100 ms (with fill in between) is not dead media.
  for (let i = 0; i < 5; i++) {
    await sleep(100);
    leg.callerFrame(speech());
  }
  assert.is(closed.length, 0, 'audio arriving keeps the leg up');
  const last = performance.now();
  while (closed.length === 0 && performance.now() - last < 15_000) await sleep(20);
  assert.is(closed.length, 1);
  assert.is(closed[0].code, 'dead_media');
  assert.match(closed[0].detail ?? '', /no caller audio for \d+ ms/);
  assert.ok(performance.now() - last >= 2000, 'not before the timeout');
  assert.ok(leg.closed);
  assert.is(leg.closedWith?.code, 'dead_media', 'the wire is closed with the reason');
});

test('callerGapMs 0 and deadMediaMs 0 turn both off', async () => {
  const leg = new FakeLeg({ clock: { callerGapMs: 0, deadMediaMs: 0 } });
  leg.callerFrame(speech());
  await sleep(300);
  assert.is(leg.stats.framesFilled, 0);
  assert.not.ok(leg.closed);
  await leg.close({ code: 'bot_hangup' });
});

test('a listener that closes the leg on a fill frame stops the fill', async () => {
  const leg = new FakeLeg();
  let seen = 0;
  leg.on('frame', (pcm) => {
    if (pcm[0] === 0 && ++seen === 2) void leg.close({ code: 'bot_hangup' });
  });
  leg.callerFrame(speech());
  await until(() => leg.closed, 'the listener closing the leg', 10_000);
  await sleep(100);
  assert.is(seen, 2);
  assert.is(leg.stats.framesFilled, 2);
});


test('a wire kept alive gets silence at once and while the bot is quiet, bot audio in between, and again after a flush', async () => {
  const leg = new FakeLeg();
  let played = 0;
  leg.on('played', () => played++);
  leg.keepWireAlive();
  assert.is(leg.written.length, 1, 'one silence frame at once (before any caller audio)');
  assert.ok(leg.written[0].pcm.every((v) => v === 0));
  await sleep(100);
  const idle = leg.written.length;
  assert.ok(idle >= 3, `${idle} silence frames in 100 ms`);
  assert.is(played, 0, 'silence is not bot audio');

  leg.play(Int16Array.from({ length: 160 * 5 }, () => 1000));
  assert.is(leg.written.at(-1)?.pcm[0], 1000, 'bot audio leaves at once, not after the next silence slot');
  await sleep(60);
  const during = leg.written.slice(idle);
  assert.ok(during.slice(0, 3).every((w) => w.pcm[0] === 1000), 'no silence interleaved with the prompt');
  leg.flush();
  const afterFlush = leg.written.length;
  await sleep(80);
  assert.ok(leg.written.slice(afterFlush).every((w) => w.pcm[0] === 0));
  assert.ok(leg.written.length - afterFlush >= 2, 'silence resumes after a barge-in flush');
  assert.is(leg.stats.framesKeepAlive, leg.written.length - leg.stats.framesOut);
  await leg.close({ code: 'bot_hangup' });
  const closedAt = leg.written.length;
  await sleep(60);
  assert.is(leg.written.length, closedAt, 'nothing after close');
});

test.run();
