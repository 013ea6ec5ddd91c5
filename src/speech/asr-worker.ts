/**
 * Worker-thread side of the ASR: owns the shared recognizer and every call's stream. Runs here because one batched
 * decode with a production-sized model takes tens of milliseconds, which on the main thread would delay the 20 ms
 * audio frames of every call.
 */
import { workerData } from 'node:worker_threads';
import { parentChannel, startOrFail } from '../core/index.ts';
import { AsrBatchDecoder } from './asr-batch-decoder.ts';
import type { AsrReply, AsrRequest, AsrWorkerData } from './asr-protocol.ts';
import { AsrWorkerScheduler } from './asr-worker-scheduler.ts';

const parent = parentChannel<AsrRequest, AsrReply>('asr-worker.ts');
const decoder = startOrFail(parent.reply, () => new AsrBatchDecoder((workerData as AsrWorkerData).recognizer));
const scheduler = new AsrWorkerScheduler(decoder, parent.reply);

/**
 * Partials are decoded one pass per setImmediate: the port's messages that arrived during a pass are handled before
 * the next one runs (immediates queued by a running immediate wait for the next turn of the event loop), so a
 * waiting `finalize` is answered after at most one pass, never behind the whole backlog of other calls' partials.
 */
let passScheduled = false;
function decodePass(): void {
  passScheduled = false;
  if (scheduler.decodePass()) schedulePass();
}
function schedulePass(): void {
  if (passScheduled) return;
  passScheduled = true;
  setImmediate(decodePass);
}

parent.onRequest((req) => {
  scheduler.handle(req);
  if (scheduler.decoding) schedulePass();
});
