/**
 * Worker-thread side of the two-pass final: owns the offline recognizer and decodes finished utterances one at a time,
 * away from the streaming worker, whose partials keep coming meanwhile.
 */
import { workerData } from 'node:worker_threads';
import { parentChannel, startOrFail } from '../core/index.ts';
import type { SecondPassReply, SecondPassRequest, SecondPassWorkerData } from './asr-protocol.ts';
import { OfflineUtteranceDecoder } from './second-pass.ts';

const parent = parentChannel<SecondPassRequest, SecondPassReply>('second-pass-worker.ts');
const decoder = startOrFail(parent.reply, () => new OfflineUtteranceDecoder((workerData as SecondPassWorkerData).recognizer));

parent.onRequest((req) => {
  try {
    parent.reply({ kind: 'text', seq: req.seq, text: decoder.decode(req.samples, req.paddingMs) });
  } catch (err) {
    parent.reply({ kind: 'error', seq: req.seq, message: err instanceof Error ? err.message : String(err) });
  }
});
