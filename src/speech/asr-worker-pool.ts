/**
 * Several ASR workers, each a thread with a recognizer of its own; a call's stream stays on one worker for the whole
 * call. More workers decode more calls at once where cores are free for them, at the cost of one model's memory
 * each. A new call goes to the worker with the fewest calls (the least behind among equals).
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { AsrFinal, AsrService, PartialListener } from './asr-service.ts';
import { AsrWorkerClient } from './asr-worker-client.ts';
import type { SherpaOnlineRecognizerConfig } from './models/sherpa-binding.ts';

/**
 * Cores the main thread needs for itself: 20 ms frame pacing, the Silero VAD of every call, TTS and the wires.
 * On 2 cores that leaves one worker; bench/RESULTS.md (2026-11-23) found a second onnxruntime thread there made
 * latency worse (p95 903 -> 5674 ms at 50 calls), as it competed with the main thread.
 */
const MAIN_THREAD_CORES = 1;
/** Default ceiling: every worker holds the model in memory (tens to hundreds of MB for a production model). */
const MAX_DEFAULT_WORKERS = 4;

/** `speech.asr.workers` when the config does not set it: the cores the rest of the engine leaves free, 1 to 4. */
export function defaultAsrWorkers(cores: number = availableParallelism()): number {
  return Math.min(MAX_DEFAULT_WORKERS, Math.max(1, cores - MAIN_THREAD_CORES));
}

/** Starts `count` ASR workers: one is used as it is, more are pooled. */
export async function startAsrWorkers(count: number, recognizer: SherpaOnlineRecognizerConfig, decodeIntervalMs: number, log: Logger): Promise<AsrService> {
  if (count <= 1) return AsrWorkerClient.start(recognizer, decodeIntervalMs, log);
  const started = await Promise.allSettled(Array.from({ length: count }, () => AsrWorkerClient.start(recognizer, decodeIntervalMs, log)));
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(workers.map((w) => w.shutdown()));
    throw failed.reason;
  }
  return new AsrWorkerPool(workers);
}

export class AsrWorkerPool implements AsrService {
  /** Stream id -> index of the worker it lives on. */
  private readonly home = new Map<number, number>();
  /** Open streams per worker. */
  private readonly load: number[];

  constructor(private readonly workers: readonly AsrService[]) {
    if (workers.length === 0) throw new RangeError('an ASR worker pool needs at least one worker');
    this.load = workers.map(() => 0);
  }

  /** Open streams on each worker, in worker order. */
  get streamsPerWorker(): readonly number[] {
    return this.load;
  }

  open(id: number, onPartial: PartialListener): void {
    if (this.home.has(id)) return;
    const index = this.leastLoaded();
    this.home.set(id, index);
    this.load[index]!++;
    this.workers[index]!.open(id, onPartial);
  }

  feed(id: number, samples: Float32Array, atMs: number): void {
    const index = this.home.get(id);
    if (index !== undefined) this.workers[index]!.feed(id, samples, atMs);
  }

  finalize(id: number, paddingMs: number): Promise<AsrFinal> {
    const index = this.home.get(id);
    // A stream never opened has heard nothing, as a worker would answer for it.
    return index === undefined ? Promise.resolve({ text: '' }) : this.workers[index]!.finalize(id, paddingMs);
  }

  close(id: number): void {
    const index = this.home.get(id);
    if (index === undefined) return;
    this.home.delete(id);
    this.load[index]!--;
    this.workers[index]!.close(id);
  }

  realTimeFactor(): number {
    return this.workers.reduce((sum, w) => sum + w.realTimeFactor(), 0) / this.workers.length;
  }

  /**
   * The worker furthest behind. Calls are spread evenly, so one worker behind means this node's ASR is at its
   * limit, and admission control should stop taking calls before that worker's calls miss their budget.
   */
  backlogMs(): number {
    return Math.max(...this.workers.map((w) => w.backlogMs()));
  }

  /** The busiest worker: its calls are the first to miss their budget. */
  busyFraction(): number {
    return Math.max(...this.workers.map((w) => w.busyFraction?.() ?? 0));
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.shutdown()));
  }

  private leastLoaded(): number {
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) {
      const fewer = this.load[i]! < this.load[best]!;
      const asFewButLessBehind = this.load[i] === this.load[best] && this.workers[i]!.backlogMs() < this.workers[best]!.backlogMs();
      if (fewer || asFewButLessBehind) best = i;
    }
    return best;
  }
}
