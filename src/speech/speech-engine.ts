/**
 * The listening side for all calls of the process: one Silero VAD pool, one shared streaming recognizer (in a
 * worker thread by default) with one stream per call, and a CallSpeech per call on top.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Lang } from '../core/index.ts';
import { buildRecognizerConfig, buildSecondPassConfig, hotwordsSupported } from './asr-model-config.ts';
import { SecondPassWorker } from './second-pass-client.ts';
import { InlineSecondPass, TwoPassAsr } from './second-pass.ts';
import { AsrInline } from './asr-inline.ts';
import type { AsrService } from './asr-service.ts';
import { defaultAsrWorkers, startAsrWorkers } from './asr-worker-pool.ts';
import { CallSpeechSession, type SpeechStageTimings } from './call-speech.ts';
import type { SpeechConfig } from './config.ts';
import { resolveModel, type ModelLookupOptions } from './models/model-lookup.ts';
import type { TurnModel } from './turn-model.ts';
import { loadTurnModel } from './turn-model-client.ts';
import type { CallSpeech, SpeechEngine } from './types.ts';
import { VadPool } from './vad-pool.ts';

export interface SpeechEngineOptions {
  log: Logger;
  /** A models folder searched before all others. */
  modelsRoot?: string;
  /** Environment for the model lookup (default process.env). */
  env?: Record<string, string | undefined>;
  /** VAD instances the pool grows to in the background (server.maxCalls), so no call waits for one. */
  vadTarget?: number;
  /** Stage timings for metrics (VAD per frame, ASR final). */
  timings?: SpeechStageTimings;
  /** An audio turn model to use instead of loading `speech.endpoint.turnModel.path` (tests, embedding). */
  turnModel?: TurnModel;
}

/** Idle VAD instances kept beyond the warm pool before extras are let go. */
const MAX_IDLE_VADS = 256;

export async function createSpeechEngine(cfg: SpeechConfig, opts: SpeechEngineOptions): Promise<SpeechEngine> {
  const log = opts.log.child({ component: 'speech' });
  const lookup: ModelLookupOptions = { rootDir: opts.modelsRoot, modelsDir: cfg.modelsDir, env: opts.env };
  // First, so a bad model file is refused before the ASR model is loaded. Unset (the default): no runtime is imported.
  const turnModel = opts.turnModel ?? (await loadTurnModel(cfg.endpoint.turnModel.path, log));
  // speech.vad.model is a .onnx file, or a registry name / folder (`callpilot models use vad` writes a name).
  const vadModel = cfg.vad.model?.endsWith('.onnx') ? cfg.vad.model : resolveModel(cfg.vad.model ?? 'silero-vad', lookup).files.model!;
  const asrModel = resolveModel(cfg.asr.model, lookup);

  let hotwordsDir: string | undefined;
  let hotwordsFile: string | undefined;
  if (cfg.asr.hotwords.length > 0) {
    if (hotwordsSupported(cfg.asr, asrModel)) {
      hotwordsDir = mkdtempSync(join(tmpdir(), 'callpilot-hotwords-'));
      hotwordsFile = join(hotwordsDir, 'hotwords.txt');
      writeFileSync(hotwordsFile, cfg.asr.hotwords.join('\n') + '\n');
    } else {
      log.warn({ model: asrModel.name }, 'speech.asr.hotwords ignored: they need a transducer model with modified_beam_search');
    }
  }
  const secondPassModel = cfg.asr.secondPass.model === undefined ? undefined : resolveModel(cfg.asr.secondPass.model, lookup);
  const recognizer = buildRecognizerConfig(cfg.asr, asrModel, hotwordsFile);
  const secondPassConfig = secondPassModel ? buildSecondPassConfig(cfg.asr.secondPass, secondPassModel) : undefined;

  const started = performance.now();
  const asrWorkers = cfg.asr.worker ? (cfg.asr.workers ?? defaultAsrWorkers()) : 0;
  const streaming: AsrService =
    asrWorkers > 0 ? await startAsrWorkers(asrWorkers, recognizer, cfg.asr.decodeIntervalMs, log) : new AsrInline(recognizer, cfg.asr.decodeIntervalMs);
  let asr = streaming;
  if (secondPassConfig) {
    // A worker of its own whenever the streaming ASR has one: the offline decode must not stall every call's partials.
    // A second-pass model that cannot load fails the start, with the streaming workers already up shut down.
    const second = await (async () => (asrWorkers > 0 ? SecondPassWorker.start(secondPassConfig, log) : new InlineSecondPass(secondPassConfig)))().catch(
      async (err: unknown) => {
        await streaming.shutdown();
        throw err;
      },
    );
    asr = new TwoPassAsr(streaming, second, log, cfg.asr.secondPass.maxUtteranceMs);
  }
  const vadPool = new VadPool({
    model: vadModel,
    threshold: cfg.vad.threshold,
    minSpeechMs: cfg.vad.minSpeechMs,
    minSilenceMs: cfg.vad.minSilenceMs,
    warm: cfg.vad.poolSize,
    target: Math.max(cfg.vad.poolSize, opts.vadTarget ?? 0),
    maxIdle: Math.max(cfg.vad.poolSize, MAX_IDLE_VADS),
    log,
  });
  log.info(
    { asrModel: asrModel.name, asrDir: asrModel.dir, secondPassModel: secondPassModel?.name, vadModel, asrWorkers, loadMs: Math.round(performance.now() - started) },
    'speech engine ready',
  );
  return new SherpaSpeechEngine(cfg, asr, vadPool, log, hotwordsDir, opts.timings, turnModel);
}

class SherpaSpeechEngine implements SpeechEngine {
  private readonly calls = new Set<CallSpeech>();
  private nextStreamId = 1;
  private closed = false;

  constructor(
    private readonly cfg: SpeechConfig,
    private readonly asr: AsrService,
    private readonly vadPool: VadPool,
    private readonly log: Logger,
    private readonly hotwordsDir: string | undefined,
    private readonly timings: SpeechStageTimings | undefined,
    private readonly turnModel: TurnModel | undefined,
  ) {}

  createCall(callId: string, sampleRate: 8000 | 16000, _lang: Lang): CallSpeech {
    if (this.closed) throw new Error(`speech engine is closed (call ${callId})`);
    const call: CallSpeech = new CallSpeechSession({
      callId,
      streamId: this.nextStreamId++,
      sampleRate,
      config: this.cfg,
      vadPool: this.vadPool,
      asr: this.asr,
      log: this.log,
      onClose: () => this.calls.delete(call),
      timings: this.timings,
      turnModel: this.turnModel,
    });
    this.calls.add(call);
    return call;
  }

  asrRealTimeFactor(): number {
    return this.asr.realTimeFactor();
  }

  asrBacklogMs(): number {
    return this.asr.backlogMs();
  }

  asrBusyFraction(): number {
    return this.asr.busyFraction?.() ?? 0;
  }

  /** VAD instances created, in use and idle (for metrics and capacity planning). */
  vadPoolStats(): { created: number; inUse: number; idle: number } {
    return this.vadPool.stats;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const call of [...this.calls]) call.close();
    await this.asr.shutdown();
    await this.turnModel?.close();
    this.vadPool.close();
    if (this.hotwordsDir) rmSync(this.hotwordsDir, { recursive: true, force: true });
  }
}
