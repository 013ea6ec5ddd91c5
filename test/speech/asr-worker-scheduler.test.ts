import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AsrBatchDecoder } from '../../src/speech/asr-batch-decoder.ts';
import type { AsrReply } from '../../src/speech/asr-protocol.ts';
import { AsrWorkerScheduler } from '../../src/speech/asr-worker-scheduler.ts';
import { readTranscripts, readWavFloat16k, tinyRecognizerConfig } from './speech-fixtures.ts';

/*
 * Issue 12, ASR scheduling: a caller's final never queues behind other calls' partials. The worker's scheduler is
 * driven message by message here with the real tiny recognizer, so the order is the test, not the time.
 */

const rows = readTranscripts().filter((r) => r.text === r.decoded && r.text.length > 0);

function scheduler(): { scheduler: AsrWorkerScheduler; replies: AsrReply[] } {
  const decoder = new AsrBatchDecoder(tinyRecognizerConfig());
  const replies: AsrReply[] = [];
  return { scheduler: new AsrWorkerScheduler(decoder, (r) => replies.push(r)), replies };
}

test("a final asked for while a backlog of partials is decoded is answered after one pass, before the rest of the backlog", () => {
  const { scheduler: s, replies } = scheduler();
  const calls = rows.slice(0, 6);
  calls.forEach((_, id) => s.handle({ kind: 'open', id }));
  // Every call's whole utterance in one batch: a backlog of many model chunks per call.
  s.handle({ kind: 'audio', batch: 1, chunks: calls.map((r, id) => ({ id, samples: readWavFloat16k(r.file), atMs: 3000 })) });
  assert.ok(s.decoding, 'partials wait to be decoded');
  assert.is(replies.length, 0, 'audio is only accepted when it arrives');

  assert.ok(s.decodePass(), 'one pass does not clear the backlog');
  assert.is(replies.length, 1);
  assert.is((replies[0] as Extract<AsrReply, { kind: 'partials' }>).decodedBatch, undefined, 'not all decoded yet');

  // Call 2's turn ends now: its final is decoded and answered at once, from all of its audio.
  s.handle({ kind: 'finalize', seq: 7, id: 2, paddingMs: 400 });
  const final = replies[1] as Extract<AsrReply, { kind: 'final' }>;
  assert.is(final.kind, 'final');
  assert.is(final.seq, 7);
  assert.is(final.text, calls[2]!.decoded);

  let passes = 1;
  while (s.decodePass()) passes++;
  passes++;
  assert.ok(passes >= 3, `the backlog took ${passes} passes, the final waited for one`);
  const last = replies.at(-1) as Extract<AsrReply, { kind: 'partials' }>;
  assert.is(last.kind, 'partials');
  assert.is(last.decodedBatch, 1, 'the last pass says the batch is decoded');
  assert.is(replies.findIndex((r) => r.kind === 'final'), 1, 'the final came before every later pass');
  // The finalized call's stream is gone: no partial decoding for it after its final.
  const later = replies.slice(2).flatMap((r) => (r.kind === 'partials' ? r.partials : []));
  assert.ok(later.length > 0, 'the other calls got their partials');
  assert.not.ok(later.some((p) => p.id === 2), 'nothing decoded for the finalized call');
});

test('a final handled before the pass decodes its call at once, and the pass then finds the batch decoded', () => {
  const { scheduler: s, replies } = scheduler();
  s.handle({ kind: 'open', id: 1 });
  s.handle({ kind: 'audio', batch: 4, chunks: [{ id: 1, samples: readWavFloat16k(rows[0]!.file), atMs: 2000 }] });
  s.handle({ kind: 'finalize', seq: 1, id: 1, paddingMs: 400 });
  assert.equal(replies.map((r) => r.kind), ['final']);
  assert.is((replies[0] as Extract<AsrReply, { kind: 'final' }>).text, rows[0]!.decoded);
  // Nothing is left to decode: the pass says batch 4 is done.
  assert.not.ok(s.decodePass());
  assert.is((replies[1] as Extract<AsrReply, { kind: 'partials' }>).decodedBatch, 4);
});

test('partials decoded from a backlog say they are behind; a recognizer keeping up with the audio never says so', () => {
  const { scheduler: s, replies } = scheduler();
  const calls = rows.slice(0, 3);
  calls.forEach((_, id) => s.handle({ kind: 'open', id }));
  // Whole utterances in one batch: every stream is many chunks behind the audio it was given (atMs 3000).
  s.handle({ kind: 'audio', batch: 1, chunks: calls.map((r, id) => ({ id, samples: readWavFloat16k(r.file), atMs: 3000 })) });
  while (s.decodePass());
  const passes = replies.flatMap((r) => (r.kind === 'partials' ? [r.partials] : []));
  const all = passes.flat();
  assert.ok(all.some((p) => p.behind === true), 'texts read while chunks were left are flagged: they stop before atMs');
  // Caught up, audio in small ticks as it arrives: nothing is behind.
  replies.length = 0;
  s.handle({ kind: 'open', id: 9 });
  const audio = readWavFloat16k(calls[0]!.file);
  const tick = 640; // 40 ms at 16 kHz, the decode tick
  for (let at = 0, batch = 2; at < audio.length; at += tick, batch++) {
    s.handle({ kind: 'audio', batch, chunks: [{ id: 9, samples: audio.slice(at, at + tick), atMs: 5000 + at / 16 }] });
    while (s.decodePass());
  }
  const live = replies.flatMap((r) => (r.kind === 'partials' ? r.partials : [])).filter((p) => p.id === 9);
  assert.ok(live.length > 0);
  assert.not.ok(live.some((p) => p.behind), 'a recognizer keeping up never flags its partials');
});

test.run();
