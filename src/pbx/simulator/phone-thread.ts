/**
 * A simulated phone on a thread of its own. On the server's event loop the phone stalls whenever the server does:
 * after a stall it sends the frames it owes in a burst, mixing into them the echo of bot frames that reached it
 * late, so the line's echo moves against the phone's clock in a way no phone on a real line does (a phone keeps
 * its own 20 ms clock whatever the server is doing). On its own thread the phone keeps time while the server is
 * busy, as a PBX does, and what a loaded server makes of its frames is the server's own doing.
 */
import { startTsWorker } from '../../core/index.ts';
import type { SimulatedCallOptions, SimulatedCallReport } from './simulated-caller.ts';
import type { PhoneThreadData } from './phone-thread-worker.ts';

type PhoneMessage =
  | { kind: 'notice'; notice: Record<string, unknown>; atMs: number }
  | { kind: 'report'; report: SimulatedCallReport }
  | { kind: 'failed'; message: string };

/**
 * `runSimulatedCall` on a worker thread. The report's and the notices' times need no conversion: a worker's
 * `performance.now()` counts from the process's time origin (Node 20 and 24).
 */
export async function runSimulatedCallOnOwnThread(opts: SimulatedCallOptions): Promise<SimulatedCallReport> {
  const { onNotice, ...rest } = opts;
  const data: PhoneThreadData = { opts: rest, notices: onNotice !== undefined };
  const worker = startTsWorker(new URL('./phone-thread-worker.ts', import.meta.url), 'simulated-phone', data);
  try {
    return await new Promise<SimulatedCallReport>((resolve, reject) => {
      worker.on('message', (message: PhoneMessage) => {
        if (message.kind === 'notice') onNotice?.(message.notice, message.atMs);
        else if (message.kind === 'report') resolve(message.report);
        // Also what the worker posts when its module cannot load (see startTsWorker).
        else if (message.kind === 'failed') reject(new Error(`the simulated phone failed: ${message.message}`));
      });
      worker.on('error', (err) => reject(new Error(`the simulated phone's thread failed: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => reject(new Error(`the simulated phone's thread exited (code ${code}) before its call ended`)));
    });
  } finally {
    await worker.terminate();
  }
}
