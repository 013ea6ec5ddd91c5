/**
 * Worker-thread side of the two-pass final: owns the offline recognizer and decodes finished utterances one at a time,
 * away from the streaming worker, whose partials keep coming meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SecondPassReply, SecondPassRequest, SecondPassWorkerData } from './asr-protocol.ts';
import { OfflineUtteranceDecoder } from './second-pass.ts';

const port = parentPort;
if (!port) throw new Error('second-pass-worker.ts must run inside a worker thread');

function reply(message: SecondPassReply): void {
  port!.postMessage(message);
}

let decoder: OfflineUtteranceDecoder;
try {
  decoder = new OfflineUtteranceDecoder((workerData as SecondPassWorkerData).recognizer);
  reply({ kind: 'ready' });
} catch (err) {
  reply({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  throw err;
}

port.on('message', (req: SecondPassRequest) => {
  try {
    reply({ kind: 'text', seq: req.seq, text: decoder.decode(req.samples, req.paddingMs) });
  } catch (err) {
    reply({ kind: 'error', seq: req.seq, message: err instanceof Error ? err.message : String(err) });
  }
});
