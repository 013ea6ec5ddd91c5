/**
 * Worker-thread side of the ASR: owns the shared recognizer and every call's stream. Runs here because one batched
 * decode with a production-sized model takes tens of milliseconds, which on the main thread would delay the 20 ms
 * audio frames of every call.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AsrBatchDecoder } from './asr-batch-decoder.ts';
import type { AsrReply, AsrRequest, AsrWorkerData } from './asr-protocol.ts';
import { AsrWorkerScheduler } from './asr-worker-scheduler.ts';

const port = parentPort;
if (!port) throw new Error('asr-worker.ts must run inside a worker thread');

function reply(message: AsrReply): void {
  port!.postMessage(message);
}

let decoder: AsrBatchDecoder;
try {
  decoder = new AsrBatchDecoder((workerData as AsrWorkerData).recognizers);
  reply({ kind: 'ready' });
} catch (err) {
  reply({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  throw err;
}

const scheduler = new AsrWorkerScheduler(decoder, reply);

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

port.on('message', (req: AsrRequest) => {
  scheduler.handle(req);
  if (scheduler.decoding) schedulePass();
});
