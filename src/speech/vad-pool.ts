/**
 * Silero VAD instances for many calls. sherpa-onnx gives every `Vad` its own ONNX session (about 9 MB and 40-60 ms
 * of CPU to create, measured here), and a session cannot be shared between calls because the detector keeps
 * per-stream state inside it. So instances are created ahead of need and reused across calls after a reset: call
 * setup never pays the session creation, and memory is bounded by peak concurrency rather than call count.
 */
import type { Logger } from 'pino';
import { loadSherpa, type SherpaVad, type SherpaVadConfig } from './models/sherpa-binding.ts';

export interface VadPoolOptions {
  /** Path to silero_vad_v5.onnx. */
  model: string;
  threshold: number;
  minSpeechMs: number;
  /** Silence before the detector reports a speech end; the endpointer adds its own trailing silence on top. */
  minSilenceMs: number;
  /** Instances created up front. */
  warm: number;
  /**
   * Instances the pool grows to in the background after start-up (server.maxCalls), one per event-loop turn, so
   * no call ever waits for one; default = warm.
   */
  target?: number;
  /** Most idle instances kept for reuse. */
  maxIdle: number;
  log: Logger;
}

/** Seconds of audio the native ring starts with; sherpa grows it (with a log line) for longer speech. */
const VAD_BUFFER_SECONDS = 8;
/** Pause between background creations: leaves the loop free for frames between two ~50 ms blocks. */
const GROWTH_INTERVAL_MS = 100;

export class VadPool {
  private readonly idle: SherpaVad[] = [];
  private readonly config: SherpaVadConfig;
  private created = 0;
  private inUse = 0;
  private growing: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: VadPoolOptions) {
    this.config = {
      sileroVad: {
        model: o.model,
        threshold: o.threshold,
        minSilenceDuration: o.minSilenceMs / 1000,
        minSpeechDuration: o.minSpeechMs / 1000,
        // The endpointer cuts long utterances; keep sherpa's own splitting out of the way.
        maxSpeechDuration: 600,
        windowSize: 512,
      },
      sampleRate: 16000,
      numThreads: 1,
      provider: 'cpu',
      debug: false,
    };
    for (let i = 0; i < o.warm; i++) this.idle.push(this.create());
    this.scheduleGrowth();
  }

  /**
   * Creating an instance blocks the event loop for tens of ms: do it one at a time between other work, until the
   * pool holds `target`, so calls never build one on their own path.
   */
  private scheduleGrowth(): void {
    if (this.closed || this.created >= (this.o.target ?? this.o.warm) || this.growing) return;
    this.growing = setTimeout(() => {
      this.growing = undefined;
      if (this.closed) return;
      this.idle.push(this.create());
      this.scheduleGrowth();
    }, GROWTH_INTERVAL_MS);
    this.growing.unref();
  }

  get minSpeechMs(): number {
    return this.o.minSpeechMs;
  }

  get stats(): { created: number; inUse: number; idle: number } {
    return { created: this.created, inUse: this.inUse, idle: this.idle.length };
  }

  acquire(): SherpaVad {
    this.inUse++;
    const vad = this.idle.pop();
    if (vad) return vad;
    const started = performance.now();
    const fresh = this.create();
    this.o.log.warn(
      { ms: Math.round(performance.now() - started), created: this.created },
      'VAD pool empty: created an instance on the call path (raise speech.vad.poolSize or lower server.maxCalls)',
    );
    return fresh;
  }

  release(vad: SherpaVad): void {
    this.inUse--;
    if (this.idle.length >= Math.max(this.o.maxIdle, this.o.target ?? 0)) return; // dropped: the addon frees it when collected
    vad.reset();
    this.idle.push(vad);
  }

  close(): void {
    this.closed = true;
    if (this.growing) clearTimeout(this.growing);
    this.idle.length = 0;
  }

  private create(): SherpaVad {
    this.created++;
    return new (loadSherpa().Vad)(this.config, VAD_BUFFER_SECONDS);
  }
}
