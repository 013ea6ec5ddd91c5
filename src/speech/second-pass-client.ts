/** The second pass's offline recognizer in a worker thread of its own (see second-pass.ts). */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startTsWorker, workerReady } from '../core/index.ts';
import type { SecondPassReply, SecondPassRequest } from './asr-protocol.ts';
import type { SherpaOfflineRecognizerConfig } from './models/sherpa-binding.ts';
import type { SecondPassDecoder } from './second-pass.ts';

export class SecondPassWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecondPassWorkerError';
  }
}

export class SecondPassWorker implements SecondPassDecoder {
  private readonly waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  private seq = 0;
  private closed = false;
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly log: Logger,
  ) {
    worker.on('message', (reply: SecondPassReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(new SecondPassWorkerError(`second-pass worker crashed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new SecondPassWorkerError(`second-pass worker exited with code ${code}`));
    });
    worker.unref();
  }

  static async start(recognizer: SherpaOfflineRecognizerConfig, log: Logger): Promise<SecondPassWorker> {
    const worker = startTsWorker(new URL('./second-pass-worker.ts', import.meta.url), 'callpilot-second-pass', { recognizer });
    await workerReady(worker, (f) =>
      new SecondPassWorkerError(
        f.kind === 'failed'
          ? `second-pass worker could not load the model: ${f.message}`
          : f.kind === 'error'
            ? `second-pass worker failed to start: ${f.error.message}`
            : `second-pass worker exited with code ${f.code} before the model was loaded`,
      ),
    );
    return new SecondPassWorker(worker, log);
  }

  decode(samples: Float32Array, paddingMs: number): Promise<string> {
    if (this.closed) return Promise.reject(new SecondPassWorkerError('second pass is shut down'));
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise<string>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      const req: SecondPassRequest = { kind: 'decode', seq, samples, paddingMs };
      this.worker.postMessage(req, [samples.buffer as ArrayBuffer]);
    });
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new SecondPassWorkerError('second pass shut down'));
    await this.worker.terminate();
  }

  private onReply(reply: SecondPassReply): void {
    if (reply.kind !== 'text' && reply.kind !== 'error') return;
    const waiter = this.waiting.get(reply.seq);
    this.waiting.delete(reply.seq);
    if (reply.kind === 'text') waiter?.resolve(reply.text);
    else waiter?.reject(new SecondPassWorkerError(reply.message));
  }

  /** Every utterance waiting is answered with the error; later ones are refused at once (their streaming text stands). */
  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
    if (!this.closed) this.log.error({ err }, 'second-pass worker failed');
  }
}
