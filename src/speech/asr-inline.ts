/**
 * AsrService decoding on the calling thread, on the same tick as the worker version. For tiny models, tools and
 * tests; with a production-sized model use the worker so decode batches do not stall audio pacing.
 */
import { AsrBacklog } from './asr-backlog.ts';
import { AsrBatchDecoder, type AsrPartial } from './asr-batch-decoder.ts';
import { asrFinal, RealTimeFactorWindow, type AsrFinal, type AsrService, type PartialListener } from './asr-service.ts';
import type { SherpaOnlineRecognizerConfig } from './models/sherpa-binding.ts';

export class AsrInline implements AsrService {
  private readonly decoder: AsrBatchDecoder;
  private readonly listeners = new Map<number, PartialListener>();
  private readonly rtf = new RealTimeFactorWindow();
  private readonly changed: AsrPartial[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly backlog: AsrBacklog;
  /** The batch of audio fed since the last decode, if any. */
  private batch: number | undefined;

  /** `now`: the monotonic ms clock the backlog is measured on (injectable for tests). */
  constructor(recognizer: SherpaOnlineRecognizerConfig, decodeIntervalMs: number, now: () => number = () => performance.now()) {
    this.decoder = new AsrBatchDecoder(recognizer);
    this.backlog = new AsrBacklog(now);
    this.timer = setInterval(() => this.tick(), decodeIntervalMs);
    this.timer.unref();
  }

  open(id: number, onPartial: PartialListener): void {
    this.listeners.set(id, onPartial);
    this.decoder.open(id);
  }

  feed(id: number, samples: Float32Array, atMs: number): void {
    this.decoder.accept(id, samples, atMs);
    // Inline, audio waits for the next tick of this thread: that wait (and any event-loop lag) is the backlog.
    this.batch ??= this.backlog.handed();
  }

  finalize(id: number, paddingMs: number): Promise<AsrFinal> {
    const { text, confidence, cost } = this.decoder.finalize(id, paddingMs);
    this.rtf.add(cost);
    return Promise.resolve(asrFinal(text, confidence, undefined));
  }

  close(id: number): void {
    this.listeners.delete(id);
    this.decoder.close(id);
  }

  realTimeFactor(): number {
    return this.rtf.value();
  }

  backlogMs(): number {
    return this.backlog.ms;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
  }

  private tick(): void {
    this.backlog.sample();
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    this.changed.length = 0;
    this.rtf.add(this.decoder.decodeReady(this.changed));
    this.backlog.decoded(batch);
    for (const p of this.changed) this.listeners.get(p.id)?.(p.text, p.atMs, p.behind === true);
  }
}
