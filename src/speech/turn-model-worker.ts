/**
 * Worker-thread side of the audio turn model: features and inference take tens of milliseconds per run (more for a
 * real Smart Turn model), which on the main thread would delay every call's 20 ms frames. Runs one at a time, in
 * order; a run cancelled while it waited is skipped.
 */
import { workerData } from 'node:worker_threads';
import { parentChannel, startFailed } from '../core/index.ts';
import { OnnxTurnModel } from './onnx-turn-model.ts';
import type { TurnModelReply, TurnModelRequest, TurnModelWorkerData } from './turn-model-client.ts';

const parent = parentChannel<TurnModelRequest, TurnModelReply>('turn-model-worker.ts');
const reply = parent.reply;

// A model that cannot load is reported, not thrown: the client ends this worker when it reads the reason.
const model = await OnnxTurnModel.load((workerData as TurnModelWorkerData).file).catch((err: unknown) => {
  reply(startFailed(err));
  return undefined;
});
if (model) reply({ kind: 'ready' });

/** Runs cancelled while queued (the caller spoke again): skipped when their turn comes. */
const cancelled = new Set<number>();
let queue = Promise.resolve();
parent.onRequest((req) => {
  if (!model) return;
  if (req.kind === 'cancel') {
    cancelled.add(req.seq);
    return;
  }
  queue = queue.then(async () => {
    if (cancelled.delete(req.seq)) {
      reply({ kind: 'skipped', seq: req.seq });
      return;
    }
    try {
      const probability = await model.completeProbability(req.audio);
      reply({ kind: 'result', seq: req.seq, probability, cost: model.lastCost });
    } catch (err) {
      reply({ kind: 'error', seq: req.seq, message: err instanceof Error ? err.message : String(err) });
    }
  });
});
