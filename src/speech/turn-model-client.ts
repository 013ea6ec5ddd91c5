/**
 * The engine's audio turn model: an OnnxTurnModel in its own worker thread, behind the TurnModel interface. Each
 * request carries the utterance's audio (transferred, not copied) and gets one probability back.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { TurnModelRunCost } from './onnx-turn-model.ts';
import { resolveTurnModelPath, TurnModelError, TurnModelSkipped, type TurnModel } from './turn-model.ts';
import { startTsWorker, workerReady } from '../core/index.ts';

export interface TurnModelWorkerData {
  file: string;
}
export type TurnModelRequest = { kind: 'run'; seq: number; audio: Float32Array } | { kind: 'cancel'; seq: number };
export type TurnModelReply =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; seq: number; probability: number; cost: TurnModelRunCost }
  | { kind: 'skipped'; seq: number }
  | { kind: 'error'; seq: number; message: string };

interface Waiter {
  resolve: (p: number) => void;
  reject: (err: Error) => void;
}

/**
 * Runs queued beyond this are refused at once: an answer that comes after the turn was decided is worth nothing,
 * and a backlog would make every later answer late too.
 */
const MAX_QUEUED_RUNS = 4;

export class WorkerTurnModel implements TurnModel {
  private readonly waiters = new Map<number, Waiter>();
  private seq = 0;
  private failure: Error | undefined;
  private closed = false;
  /** Cost of the last run, as the worker measured it. */
  lastCost: TurnModelRunCost = { featuresMs: 0, modelMs: 0 };

  private constructor(
    private readonly worker: Worker,
    private readonly file: string,
    private readonly log: Logger,
  ) {
    worker.on('message', (reply: TurnModelReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(new TurnModelError(`turn model worker crashed: ${err.message}`, file)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new TurnModelError(`turn model worker exited with code ${code}`, file));
    });
    worker.unref();
  }

  /** Starts the worker and waits until the model is loaded and checked; throws TurnModelError with the reason. */
  static async start(file: string, log: Logger): Promise<WorkerTurnModel> {
    const worker = startTsWorker(new URL('./turn-model-worker.ts', import.meta.url), 'callpilot-turn-model', { file } satisfies TurnModelWorkerData);
    await workerReady(
      worker,
      (f) =>
        new TurnModelError(
          f.kind === 'failed'
            ? f.message
            : f.kind === 'error'
              ? `turn model worker failed to start: ${f.error.message}`
              : `turn model worker exited with code ${f.code} before the model was loaded`,
          file,
        ),
    );
    return new WorkerTurnModel(worker, file, log);
  }

  /** `audio16k`'s buffer is transferred to the worker: the caller hands it over. */
  completeProbability(audio16k: Float32Array, signal?: AbortSignal): Promise<number> {
    // The failure itself was logged once, as an error; each pause after it is only a skipped run.
    if (this.failure) return Promise.reject(new TurnModelSkipped(`the turn model is out of service: ${this.failure.message}`));
    if (this.closed) return Promise.reject(new TurnModelError('turn model is closed', this.file));
    if (signal?.aborted) return Promise.reject(new TurnModelSkipped('cancelled before it was sent'));
    if (this.waiters.size >= MAX_QUEUED_RUNS) return Promise.reject(new TurnModelSkipped(`${this.waiters.size} runs already queued`));
    const seq = ++this.seq;
    return new Promise<number>((resolve, reject) => {
      // A run in flight keeps the process alive, as any pending I/O does; an idle model does not.
      if (this.waiters.size === 0) this.worker.ref();
      const onAbort = (): void => {
        if (!this.settle(seq)) return;
        this.worker.postMessage({ kind: 'cancel', seq } satisfies TurnModelRequest);
        reject(new TurnModelSkipped('cancelled: the caller spoke again'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.waiters.set(seq, {
        resolve: (p) => {
          done();
          resolve(p);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      this.worker.postMessage({ kind: 'run', seq, audio: audio16k } satisfies TurnModelRequest, [audio16k.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new TurnModelError('turn model is closed', this.file));
    await this.worker.terminate();
  }

  /** Forgets run `seq`; returns its waiter if it was still waiting. */
  private settle(seq: number): Waiter | undefined {
    const waiter = this.waiters.get(seq);
    this.waiters.delete(seq);
    if (this.waiters.size === 0) this.worker.unref();
    return waiter;
  }

  private onReply(reply: TurnModelReply): void {
    if (reply.kind !== 'result' && reply.kind !== 'error') return;
    const waiter = this.settle(reply.seq);
    if (reply.kind === 'result') {
      this.lastCost = reply.cost;
      waiter?.resolve(reply.probability);
    } else waiter?.reject(new TurnModelError(reply.message, this.file));
  }

  private fail(err: Error): void {
    // A crash reports an error and then an exit: one is logged, and the first reason stays.
    if (!this.closed && !this.failure) {
      this.failure = err;
      this.log.error({ err, file: this.file }, 'audio turn model failed; end of turn is decided without it');
    }
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }
}

/**
 * The configured audio turn model, loaded and checked, or undefined when `speech.endpoint.turnModel.path` is unset
 * (then the runtime is never imported). Throws TurnModelError with a clear reason.
 */
export async function loadTurnModel(path: string | undefined, log: Logger, cwd?: string): Promise<WorkerTurnModel | undefined> {
  const file = resolveTurnModelPath(path, cwd);
  if (file === undefined) return undefined;
  const model = await WorkerTurnModel.start(file, log);
  log.info({ file }, 'audio turn model loaded');
  return model;
}
