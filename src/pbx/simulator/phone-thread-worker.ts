/**
 * The worker side of `runSimulatedCallOnOwnThread`: runs one simulated call and posts `{ kind: 'notice', notice, atMs }`
 * per notice when asked for, then `{ kind: 'report', report }` or `{ kind: 'failed', message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runSimulatedCall, type SimulatedCallOptions } from './simulated-caller.ts';

/** What the parent hands the worker: the call's options less the callback, and whether it wants the notices. */
export interface PhoneThreadData {
  opts: Omit<SimulatedCallOptions, 'onNotice'>;
  notices: boolean;
}

const port = parentPort;
if (!port) throw new Error('phone-thread-worker.ts runs only as a worker thread');
const { opts, notices } = workerData as PhoneThreadData;
runSimulatedCall({
  ...opts,
  ...(notices ? { onNotice: (notice: Record<string, unknown>, atMs: number) => port.postMessage({ kind: 'notice', notice, atMs }) } : {}),
}).then(
  (report) => port.postMessage({ kind: 'report', report }),
  (err: unknown) => port.postMessage({ kind: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
);
