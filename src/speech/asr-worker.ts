/**
 * Worker-thread side of the ASR: owns the shared recognizer and every call's stream. Runs here because one batched
 * decode with a production-sized model takes tens of milliseconds, which on the main thread would delay the 20 ms
 * audio frames of every call.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AsrBatchDecoder, type AsrPartial } from './asr-batch-decoder.ts';
import type { AsrReply, AsrRequest, AsrWorkerData } from './asr-protocol.ts';

const port = parentPort;
if (!port) throw new Error('asr-worker.ts must run inside a worker thread');

function reply(message: AsrReply): void {
  port!.postMessage(message);
}

let decoder: AsrBatchDecoder;
try {
  decoder = new AsrBatchDecoder((workerData as AsrWorkerData).recognizer);
  reply({ kind: 'ready' });
} catch (err) {
  reply({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  throw err;
}

/**
 * Audio is accepted as it arrives but decoded only once every message waiting in the port has been handled
 * (setImmediate runs after the port's queue is drained). So when decoding falls behind, a waiting `finalize` is
 * answered before the partials backlog, the caller's reply is not queued behind other calls' partials, and the
 * backlog is decoded in fewer, larger batches.
 */
let decodeScheduled = false;
/** The newest audio batch accepted: once a decode pass ends, everything up to it is decoded. */
let acceptedBatch = 0;
function decodePending(): void {
  decodeScheduled = false;
  try {
    const partials: AsrPartial[] = [];
    const cost = decoder.decodeReady(partials);
    reply({ kind: 'partials', partials, cost, decodedBatch: acceptedBatch });
  } catch (err) {
    reply({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}

port.on('message', (req: AsrRequest) => {
  try {
    switch (req.kind) {
      case 'open':
        decoder.open(req.id);
        break;
      case 'close':
        decoder.close(req.id);
        break;
      case 'audio': {
        for (const c of req.chunks) decoder.accept(c.id, c.samples, c.atMs);
        acceptedBatch = req.batch;
        if (!decodeScheduled) {
          decodeScheduled = true;
          setImmediate(decodePending);
        }
        break;
      }
      case 'finalize': {
        if (req.chunk) decoder.accept(req.chunk.id, req.chunk.samples, req.chunk.atMs);
        const { text, confidence, cost } = decoder.finalize(req.id, req.paddingMs);
        reply({ kind: 'final', seq: req.seq, id: req.id, text, confidence, cost });
        break;
      }
    }
  } catch (err) {
    reply({ kind: 'error', seq: req.kind === 'finalize' ? req.seq : undefined, message: err instanceof Error ? err.message : String(err) });
  }
});
