/**
 * AsrService backed by a worker thread. Audio is gathered per call and sent to the worker once per decode tick in a
 * single message (not one message per 20 ms frame per call); partials come back batched the same way.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AsrBacklog, AsrBusy } from './asr-backlog.ts';
import type { AsrAudioChunk, AsrReply, AsrRequest, AsrWorkerData } from './asr-protocol.ts';
import { asrFinal, PendingAudio, RealTimeFactorWindow, type AsrFinal, type AsrService, type PartialListener } from './asr-service.ts';
import type { SherpaOnlineRecognizerConfig } from './models/sherpa-binding.ts';
import { startTsWorker, workerReady } from '../core/index.ts';

export class AsrWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AsrWorkerError';
  }
}

interface CallStream {
  onPartial: PartialListener;
  pending: PendingAudio;
}

function startWorker(data: AsrWorkerData): Worker {
  return startTsWorker(new URL('./asr-worker.ts', import.meta.url), 'callpilot-asr', data);
}

export class AsrWorkerClient implements AsrService {
  private readonly calls = new Map<number, CallStream>();
  private readonly finals = new Map<number, { resolve: (final: AsrFinal) => void; reject: (err: Error) => void }>();
  private readonly rtf = new RealTimeFactorWindow();
  private readonly backlog: AsrBacklog;
  private readonly busy: AsrBusy;
  private readonly timer: NodeJS.Timeout;
  private seq = 0;
  /** When the oldest audio still waiting for the next flush was fed (undefined: none waits). */
  private pendingSince: number | undefined;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    decodeIntervalMs: number,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.backlog = new AsrBacklog(now);
    this.busy = new AsrBusy(undefined, now);
    worker.on('message', (reply: AsrReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(new AsrWorkerError(`ASR worker crashed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new AsrWorkerError(`ASR worker exited with code ${code}`));
    });
    this.timer = setInterval(() => this.flush(), decodeIntervalMs);
    this.timer.unref();
    // Nothing in flight must keep the process alive on its own; open calls hold their own handles.
    worker.unref();
  }

  /** `now`: the monotonic ms clock the backlog is measured on (injectable for tests). */
  static async start(
    recognizer: SherpaOnlineRecognizerConfig,
    decodeIntervalMs: number,
    log: Logger,
    now: () => number = () => performance.now(),
  ): Promise<AsrWorkerClient> {
    const worker = startWorker({ recognizer });
    await workerReady(worker, (f) =>
      new AsrWorkerError(
        f.kind === 'failed'
          ? `ASR worker could not load the model: ${f.message}`
          : f.kind === 'error'
            ? `ASR worker failed to start: ${f.error.message}`
            : `ASR worker exited with code ${f.code} before the model was loaded`,
      ),
    );
    return new AsrWorkerClient(worker, decodeIntervalMs, log, now);
  }

  open(id: number, onPartial: PartialListener): void {
    this.calls.set(id, { onPartial, pending: new PendingAudio() });
    this.post({ kind: 'open', id });
  }

  feed(id: number, samples: Float32Array, atMs: number): void {
    const call = this.calls.get(id);
    if (!call) return;
    call.pending.append(samples, atMs);
    this.pendingSince ??= this.now();
  }

  finalize(id: number, paddingMs: number): Promise<AsrFinal> {
    if (this.closed) return Promise.reject(new AsrWorkerError('ASR is shut down'));
    const call = this.calls.get(id);
    const seq = ++this.seq;
    let chunk: AsrAudioChunk | undefined;
    if (call && call.pending.size > 0) {
      const atMs = call.pending.atMs;
      chunk = { id, samples: call.pending.take(), atMs };
    }
    return new Promise<AsrFinal>((resolve, reject) => {
      this.finals.set(seq, { resolve, reject });
      this.post({ kind: 'finalize', seq, id, chunk, paddingMs }, chunk ? [chunk.samples.buffer as ArrayBuffer] : []);
    });
  }

  close(id: number): void {
    if (!this.calls.delete(id)) return;
    this.post({ kind: 'close', id });
  }

  realTimeFactor(): number {
    return this.rtf.value();
  }

  backlogMs(): number {
    return this.backlog.ms;
  }

  busyFraction(): number {
    return this.busy.fraction();
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.fail(new AsrWorkerError('ASR shut down'));
    await this.worker.terminate();
  }

  private flush(): void {
    if (this.closed) return;
    const chunks: AsrAudioChunk[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const [id, call] of this.calls) {
      if (call.pending.size === 0) continue;
      const atMs = call.pending.atMs;
      const samples = call.pending.take();
      chunks.push({ id, samples, atMs });
      transfer.push(samples.buffer as ArrayBuffer);
    }
    if (chunks.length > 0) this.post({ kind: 'audio', batch: this.backlog.handed(this.pendingSince), chunks }, transfer);
    this.pendingSince = undefined;
    this.backlog.sample();
  }

  private post(req: AsrRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.closed) this.worker.postMessage(req, transfer);
  }

  private onReply(reply: AsrReply): void {
    switch (reply.kind) {
      case 'partials':
        this.rtf.add(reply.cost);
        this.busy.add(reply.cost.computeMs);
        if (reply.decodedBatch !== undefined) this.backlog.decoded(reply.decodedBatch);
        for (const p of reply.partials) this.calls.get(p.id)?.onPartial(p.text, p.atMs, p.behind === true);
        break;
      case 'final': {
        this.rtf.add(reply.cost);
        this.busy.add(reply.cost.computeMs);
        const waiter = this.finals.get(reply.seq);
        this.finals.delete(reply.seq);
        waiter?.resolve(asrFinal(reply.text, reply.confidence, undefined));
        break;
      }
      case 'error':
        if (reply.seq !== undefined) {
          const waiter = this.finals.get(reply.seq);
          this.finals.delete(reply.seq);
          waiter?.reject(new AsrWorkerError(reply.message));
        } else {
          this.log.error({ err: reply.message }, 'ASR worker error');
        }
        break;
      case 'ready':
      case 'failed':
        break;
    }
  }

  private fail(err: Error): void {
    for (const waiter of this.finals.values()) waiter.reject(err);
    this.finals.clear();
    if (!this.closed) this.log.error({ err }, 'ASR worker failed');
  }
}
