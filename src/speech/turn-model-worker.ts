/**
 * Worker-thread side of the audio turn model: features and inference take tens of milliseconds per run (more for a
 * real Smart Turn model), which on the main thread would delay every call's 20 ms frames. Runs one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxTurnModel } from './onnx-turn-model.ts';
import type { TurnModelReply, TurnModelRequest, TurnModelWorkerData } from './turn-model-client.ts';

const port = parentPort;
if (!port) throw new Error('turn-model-worker.ts must run inside a worker thread');
const reply = (message: TurnModelReply): void => port.postMessage(message);

let model: OnnxTurnModel;
try {
  model = await OnnxTurnModel.load((workerData as TurnModelWorkerData).file);
  reply({ kind: 'ready' });
} catch (err) {
  reply({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  throw err;
}

let queue = Promise.resolve();
port.on('message', (req: TurnModelRequest) => {
  queue = queue.then(async () => {
    try {
      const probability = await model.completeProbability(req.audio);
      reply({ kind: 'result', seq: req.seq, probability, cost: model.lastCost });
    } catch (err) {
      reply({ kind: 'error', seq: req.seq, message: err instanceof Error ? err.message : String(err) });
    }
  });
});
