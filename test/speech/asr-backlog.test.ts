import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AsrBacklog, AsrBusy } from '../../src/speech/asr-backlog.ts';
import { AsrInline } from '../../src/speech/asr-inline.ts';
import type { AsrService } from '../../src/speech/asr-service.ts';
import { AsrWorkerClient } from '../../src/speech/asr-worker-client.ts';
import { poll } from '../support/admission.ts';
import { testLog } from '../support/run-log.ts';
import { readTranscripts, readWavFloat16k, tinyRecognizerConfig } from './speech-fixtures.ts';

/*
 * The ASR backlog (issue 12, admission control): the smoothed age of the oldest caller audio the ASR service holds
 * undecoded. Every clock here is injected: nothing depends on how fast this machine decodes.
 */

class ManualClock {
  t = 0;
  readonly now = (): number => this.t;
}

test('the backlog is the age of the oldest undecoded batch, and falls to 0 once everything is decoded', () => {
  const clock = new ManualClock();
  const backlog = new AsrBacklog(clock.now);
  assert.is(backlog.ageMs(), 0, 'nothing handed yet');
  const first = backlog.handed();
  clock.t = 100;
  const second = backlog.handed();
  clock.t = 700;
  assert.is(backlog.ageMs(), 700, 'the oldest batch decides');
  backlog.decoded(first);
  assert.is(backlog.ageMs(), 600, 'the second batch is the oldest now');
  backlog.decoded(second);
  assert.is(backlog.ageMs(), 0);
  const third = backlog.handed(650);
  assert.is(backlog.ageMs(), 50, 'a batch is as old as the audio it holds');
  backlog.decoded(third);
});

test('smoothing: one slow decode tick stays under the limit, a backlog lasting seconds crosses it, and it drains', () => {
  const clock = new ManualClock();
  const backlog = new AsrBacklog(clock.now);
  const LIMIT = 300;
  const TICK = 40;
  // Decoding keeps up: each tick's batch is decoded before the next.
  for (let i = 0; i < 50; i++) {
    const b = backlog.handed();
    clock.t += TICK;
    backlog.sample();
    backlog.decoded(b);
  }
  assert.ok(backlog.ms <= TICK + 1, `keeping up: ${backlog.ms}`);
  // One decode that takes 400 ms: the batches of those ten ticks wait, then all are decoded at once.
  let batch = 0;
  for (let i = 0; i < 10; i++) {
    batch = backlog.handed();
    clock.t += TICK;
    backlog.sample();
  }
  backlog.decoded(batch);
  assert.ok(backlog.ms < LIMIT, `one slow tick does not cross the limit: ${backlog.ms.toFixed(0)} ms`);
  // The recognizer falls behind for 3 s: nothing is decoded.
  for (let i = 0; i < 75; i++) {
    batch = backlog.handed();
    clock.t += TICK;
    backlog.sample();
  }
  assert.ok(backlog.ms > LIMIT, `a lasting backlog crosses the limit: ${backlog.ms.toFixed(0)} ms`);
  backlog.decoded(batch);
  for (let i = 0; i < 75; i++) {
    const b = backlog.handed();
    clock.t += TICK;
    backlog.sample();
    backlog.decoded(b);
  }
  assert.ok(backlog.ms < LIMIT, `back under the limit 3 s after it drained: ${backlog.ms.toFixed(0)} ms`);
});

/** A spoken test utterance the tiny model decodes, at 16 kHz float. */
function utterance(): Float32Array {
  return readWavFloat16k(readTranscripts().find((r) => r.text === r.decoded && r.text.length > 0)!.file);
}

/**
 * Audio is fed at clock 0 and the clock is moved 3 s on before the service's next decode tick can run: that audio
 * has waited 3 s undecoded, so the backlog is about 3 s. Once the recognizer answers with its partial, the audio is
 * decoded and the backlog falls.
 */
async function backlogRisesAndFalls(start: (clock: ManualClock) => Promise<AsrService>): Promise<void> {
  const clock = new ManualClock();
  const asr = await start(clock);
  try {
    let partials = 0;
    asr.open(1, () => partials++);
    assert.is(asr.backlogMs(), 0);
    const audio = utterance();
    for (let at = 0; at < audio.length; at += 320) asr.feed(1, audio.subarray(at, at + 320), at / 16);
    clock.t = 3000;
    const risen = await poll(() => (asr.backlogMs() > 0 ? asr.backlogMs() : 0), 'the backlog to be sampled');
    // 3000 ms if this was the first sample, 3000 * (1 - e^-3) if a tick before the audio sampled 0.
    assert.ok(risen > 2800, `fed 3 s ago and not decoded when sampled: ${risen}`);
    await poll(() => partials > 0, 'a partial transcript (the audio decoded)');
    // The first partial can come before the last batch is decoded (a loaded machine), and a sample taken then sees
    // that batch's age: the clock keeps moving while this waits, as real time would, so the smoothing can decay
    // once everything is decoded.
    clock.t = 8000;
    await poll(() => {
      clock.t += 100;
      return asr.backlogMs() < 100;
    }, 'the backlog to fall after decoding');
    assert.ok(asr.backlogMs() < 100);
  } finally {
    await asr.shutdown();
  }
}

test('worker: the backlog rises while fed audio waits undecoded and falls after the worker decodes it (tiny model)', async () => {
  await backlogRisesAndFalls((clock) => AsrWorkerClient.start(tinyRecognizerConfig(), 10, testLog(), clock.now));
});

test('inline: the same backlog on the calling thread (tiny model)', async () => {
  await backlogRisesAndFalls(async (clock) => new AsrInline(tinyRecognizerConfig(), 10, clock.now));
});

test('busy share: decode time over wall time in the window, from the start while shorter, old decodes aging out', () => {
  const clock = { ms: 50_000 };
  const busy = new AsrBusy(10_000, () => clock.ms);
  assert.is(busy.fraction(), 0, 'nothing decoded, no time passed');
  clock.ms += 2_000;
  busy.add(500);
  assert.is(busy.fraction(), 0.25, '500 ms decoding in the 2 s since the start');
  for (let s = 0; s < 8; s++) {
    clock.ms += 1_000;
    busy.add(800);
  }
  // The window is 9 whole seconds and the current one so far (here just begun): 500 + 8 x 800 ms in 9 s.
  assert.ok(Math.abs(busy.fraction() - 6900 / 9000) < 1e-9, `${busy.fraction()}`);
  clock.ms += 20_000;
  assert.is(busy.fraction(), 0, 'decodes older than the window no longer count');
  busy.add(30_000);
  assert.is(busy.fraction(), 1, 'never more than all of the time');
});

test.run();
