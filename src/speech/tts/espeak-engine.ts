import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Lang } from '../../core/index.ts';
import type { TtsEngine } from '../types.ts';
import type { EspeakWorkerReply, EspeakWorkerRequest } from './espeak-protocol.ts';
import type { EspeakTtsOptions, SynthesisTiming } from './types.ts';

const WARM_UP: Array<[string, Lang]> = [
  ['您好，请问您现在方便接听电话吗？', 'zh'],
  ['您的账单已经逾期三天了，请尽快还款。', 'zh'],
  ['Hello, this is a reminder about your payment.', 'en'],
  ['Would you like me to call you back later?', 'en'],
];

interface PendingRequest {
  text: string;
  startedAt: number;
  resolve(pcm: Int16Array): void;
  reject(err: Error): void;
}

export class EspeakEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EspeakEngineError';
  }
}

/**
 * URL of tsx's ESM register API. Resolved through tsx's package.json because under uvu -r tsx this module runs as
 * CommonJS (no import.meta.resolve) and require.resolve would pick the CommonJS build, whose register() cannot find
 * its loader from inside an eval'd worker.
 */
function tsxRegisterApiUrl(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const entry = manifest.exports['./esm/api']?.import?.default;
  if (!entry) throw new EspeakEngineError(`tsx at ${manifestPath} has no ./esm/api export to load the espeak-ng worker with`);
  return new URL(entry, pathToFileURL(manifestPath)).href;
}

/**
 * The worker is TypeScript like the rest of the app. A worker thread does not get the parent's tsx loader (tsx only
 * registers itself on the main thread), so the bootstrap registers tsx in the worker before importing it.
 */
function startWorker(): Worker {
  const workerUrl = new URL('./espeak-worker.ts', import.meta.url).href;
  const bootstrap =
    `const { parentPort } = require('node:worker_threads');` +
    `import(${JSON.stringify(tsxRegisterApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl)}); })` +
    `.catch((err) => parentPort.postMessage({ kind: 'failed', message: String((err && err.stack) || err) }));`;
  return new Worker(bootstrap, { eval: true, name: 'espeak-ng' });
}

/**
 * espeak-ng (WASM) behind one worker thread. Create one per process and share it: the voice data is loaded once,
 * requests from all calls queue on the worker and never block the event loop that paces media frames.
 */
export class EspeakTtsEngine implements TtsEngine {
  readonly name: string;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private closed = false;
  private lastTiming: SynthesisTiming | undefined;
  private lastHeapBytes = 0;

  private constructor(
    private readonly worker: Worker,
    readonly sampleRate: number,
    private readonly options: EspeakTtsOptions,
    private readonly log: Logger | undefined,
  ) {
    // The voices and rate are part of the name so that prompt caches keyed by engine name never mix voices.
    this.name = `espeak-ng(zh=${options.voices.zh},en=${options.voices.en},wpm=${options.rate})`;
    worker.on('message', (reply: EspeakWorkerReply) => this.onReply(reply));
    worker.on('error', (err) => this.failAll(new EspeakEngineError(`espeak-ng worker crashed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(new EspeakEngineError(`espeak-ng worker exited unexpectedly (code ${code})`));
    });
    // An idle engine must not keep the process alive; it holds a ref only while requests are outstanding.
    worker.unref();
  }

  /** Starts the worker, loads espeak-ng and checks that both configured voices exist. */
  static async create(options: EspeakTtsOptions): Promise<EspeakTtsEngine> {
    const log = options.log?.child({ component: 'tts', engine: 'espeak' });
    const loadStarted = performance.now();
    const worker = startWorker();
    const ready = await new Promise<{ sampleRate: number }>((resolve, reject) => {
      const onMessage = (reply: EspeakWorkerReply): void => {
        worker.off('error', onError);
        if (reply.kind === 'ready') resolve(reply);
        else if (reply.kind === 'failed') reject(new EspeakEngineError(`espeak-ng failed to load: ${reply.message}`));
        else reject(new EspeakEngineError(`espeak-ng worker sent ${reply.kind} before ready`));
      };
      const onError = (err: Error): void => {
        worker.off('message', onMessage);
        reject(new EspeakEngineError(`espeak-ng worker failed to start: ${err.message}`));
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    const engine = new EspeakTtsEngine(worker, ready.sampleRate, options, log);
    try {
      // Fails early on a misspelt voice, and warms the WASM code: the first few sentences of a fresh instance take
      // 50-170 ms instead of 8-15 ms, which the first caller would otherwise hear as a slow first prompt.
      // Two rounds: measured, one round still leaves the next sentence at ~100 ms.
      for (let round = 0; round < 2; round++) for (const [text, lang] of WARM_UP) await engine.synthesize(text, lang);
    } catch (err) {
      await engine.close();
      throw err;
    }
    log?.info({ loadMs: Math.round(performance.now() - loadStarted), sampleRate: ready.sampleRate }, 'espeak-ng ready');
    return engine;
  }

  synthesize(text: string, lang: Lang): Promise<Int16Array> {
    if (this.closed) return Promise.reject(new EspeakEngineError('espeak-ng engine is closed'));
    const id = this.nextId++;
    const request: EspeakWorkerRequest = { id, text, voice: this.options.voices[lang], rate: this.options.rate };
    return new Promise<Int16Array>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { text, startedAt: performance.now(), resolve, reject });
      this.worker.postMessage(request);
    });
  }

  /** Timing of the most recent sentence (compute = time the worker was blocked). */
  lastSynthesisTiming(): SynthesisTiming | undefined {
    return this.lastTiming;
  }

  /** Size of the worker's WASM memory after the last sentence; flat over time unless espeak leaks. */
  wasmHeapBytes(): number {
    return this.lastHeapBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new EspeakEngineError('espeak-ng engine closed before the sentence was synthesized'));
    await this.worker.terminate();
  }

  private onReply(reply: EspeakWorkerReply): void {
    if (reply.kind !== 'audio' && reply.kind !== 'error') return;
    const request = this.pending.get(reply.id);
    if (!request) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'error') {
      request.reject(new EspeakEngineError(`espeak-ng could not synthesize "${request.text}": ${reply.message}`));
      return;
    }
    const totalMs = performance.now() - request.startedAt;
    this.lastTiming = { totalMs, computeMs: reply.computeMs, audioMs: (reply.pcm.length * 1000) / this.sampleRate };
    this.lastHeapBytes = reply.heapBytes;
    this.log?.debug({ chars: request.text.length, ...this.lastTiming }, 'espeak-ng sentence');
    request.resolve(reply.pcm);
  }

  private failAll(err: Error): void {
    for (const request of this.pending.values()) request.reject(err);
    this.pending.clear();
    this.worker.unref();
  }
}
