import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AsrInline } from '../../src/speech/asr-inline.ts';
import { AsrWorkerPool, defaultAsrWorkers, startAsrWorkers } from '../../src/speech/asr-worker-pool.ts';
import { poll } from '../support/admission.ts';
import { testLog } from '../support/run-log.ts';
import { readTranscripts, readWavFloat16k, tinyRecognizerConfig } from './speech-fixtures.ts';

/* Issue 12, capacity: a pool of ASR workers sized to the free cores; each call on the least-loaded worker. */

const recognizer = tinyRecognizerConfig();
const rows = readTranscripts().filter((r) => r.text === r.decoded && r.text.length > 0);

test('default size: the cores the main thread leaves free, one worker on 2 cores, at most 4', () => {
  assert.is(defaultAsrWorkers(1), 1);
  assert.is(defaultAsrWorkers(2), 1);
  assert.is(defaultAsrWorkers(4), 3);
  assert.is(defaultAsrWorkers(32), 4);
});

test('calls go to the worker with the fewest calls, ties to the one less behind; the pool reports the worst backlog', async () => {
  const clocks = [{ t: 0 }, { t: 0 }];
  const workers = clocks.map((c) => new AsrInline(recognizer, 10, () => c.t));
  const pool = new AsrWorkerPool(workers);
  try {
    pool.open(1, () => undefined);
    pool.open(2, () => undefined);
    pool.open(3, () => undefined);
    assert.equal(pool.streamsPerWorker, [2, 1]);
    pool.close(1);
    assert.equal(pool.streamsPerWorker, [1, 1]);
    // Worker 0 (streams 1 and 3 went there, 2 to worker 1) falls 3 s behind.
    pool.feed(3, readWavFloat16k(rows[0]!.file), 2000);
    clocks[0]!.t = 3000;
    clocks[1]!.t = 3000;
    await poll(() => pool.backlogMs() > 2800, 'the worst backlog');
    assert.is(pool.backlogMs(), workers[0]!.backlogMs());
    assert.is(workers[1]!.backlogMs(), 0);
    pool.open(4, () => undefined);
    assert.equal(pool.streamsPerWorker, [1, 2], 'the tie goes to the worker that is not behind');
  } finally {
    await pool.shutdown();
  }
});

test('two real workers: each call decoded on its own worker gives its own text', async () => {
  const asr = await startAsrWorkers(2, recognizer, 10, testLog());
  // Workers do not keep the process alive on their own (open calls do, through their sockets): this test has none.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    assert.ok(asr instanceof AsrWorkerPool);
    const calls = rows.slice(0, 4);
    calls.forEach((_, id) => asr.open(id, () => undefined));
    assert.equal((asr as AsrWorkerPool).streamsPerWorker, [2, 2]);
    calls.forEach((r, id) => asr.feed(id, readWavFloat16k(r.file), 3000));
    const finals = await Promise.all(calls.map((_, id) => asr.finalize(id, 400)));
    // Each call's own words (batching with other streams may add a word at the edge, as decoding does in a call).
    finals.forEach((f, id) => assert.ok(f.text.includes(calls[id]!.decoded), `call ${id}: "${f.text}", said "${calls[id]!.decoded}"`));
    assert.equal(await asr.finalize(99, 400), { text: '' }, 'a stream never opened heard nothing');
  } finally {
    clearInterval(keepAlive);
    await asr.shutdown();
  }
});

test.run();
