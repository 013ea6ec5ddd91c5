import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { Lang } from '../../core/index.ts';
import type { TtsEngine } from '../types.ts';
import { describeSherpaTtsModel, missingSherpaTtsFiles, SherpaTtsConfigError, toSherpaTtsConfig, type SherpaOfflineTtsConfig } from './sherpa-config.ts';
import type { SherpaTtsModelFiles, SherpaTtsOptions } from './types.ts';

/** The slice of sherpa-onnx-node's OfflineTts we use (the package ships no type declarations). */
interface SherpaOfflineTts {
  readonly sampleRate: number;
  readonly numSpeakers: number;
  generateAsync(request: { text: string; sid: number; speed: number; enableExternalBuffer?: boolean }): Promise<{ samples: Float32Array; sampleRate: number }>;
}
interface SherpaTtsModule {
  OfflineTts: { createAsync(config: SherpaOfflineTtsConfig): Promise<SherpaOfflineTts> };
}

/** Lists a model folder and describes it (see describeSherpaTtsModel). */
export function readSherpaTtsModelDir(dir: string): SherpaTtsModelFiles {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new SherpaTtsConfigError(`TTS model folder ${dir} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return describeSherpaTtsModel(dir, {
    files: entries.filter((e) => e.isFile()).map((e) => e.name),
    dirs: entries.filter((e) => e.isDirectory()).map((e) => e.name),
  });
}

/**
 * A released sherpa-onnx TTS model (vits / matcha / kokoro). Synthesis runs on sherpa's own thread
 * (generateAsync), one sentence at a time per engine, so the event loop stays free.
 */
export class SherpaTtsEngine implements TtsEngine {
  readonly name: string;
  readonly sampleRate: number;
  private queue: Promise<unknown> = Promise.resolve();
  private tts: SherpaOfflineTts | undefined;

  private constructor(
    tts: SherpaOfflineTts,
    private readonly options: SherpaTtsOptions,
    private readonly log: Logger | undefined,
  ) {
    this.tts = tts;
    this.sampleRate = tts.sampleRate;
    const model = options.model.model ?? options.model.acousticModel ?? '';
    this.name = `sherpa-${options.model.kind}(${model},sid=${options.speakerId ?? 0},zh=${options.speakers?.zh ?? '-'},en=${options.speakers?.en ?? '-'},speed=${options.speed ?? 1})`;
  }

  /** Checks every file first (one error naming all missing ones), then loads the model off the event loop. */
  static async create(options: SherpaTtsOptions): Promise<SherpaTtsEngine> {
    const log = options.log?.child({ component: 'tts', engine: `sherpa-${options.model.kind}` });
    const missing = missingSherpaTtsFiles(options.model);
    if (missing.length > 0) {
      throw new SherpaTtsConfigError(`sherpa-onnx ${options.model.kind} TTS model is incomplete, missing: ${missing.join('; ')}`);
    }
    const sherpa = createRequire(import.meta.url)('sherpa-onnx-node') as SherpaTtsModule;
    const started = performance.now();
    let tts: SherpaOfflineTts;
    try {
      tts = await sherpa.OfflineTts.createAsync(toSherpaTtsConfig(options.model, options));
    } catch (err) {
      throw new SherpaTtsConfigError(`sherpa-onnx could not load the ${options.model.kind} TTS model: ${err instanceof Error ? err.message : String(err)}`);
    }
    const engine = new SherpaTtsEngine(tts, options, log);
    const sids = [options.speakerId ?? 0, options.speakers?.zh, options.speakers?.en].filter((s): s is number => s !== undefined);
    const badSid = sids.find((sid) => sid < 0 || (tts.numSpeakers > 0 && sid >= tts.numSpeakers));
    if (badSid !== undefined) throw new SherpaTtsConfigError(`speaker id ${badSid} out of range: the model has ${tts.numSpeakers} speakers`);
    log?.info({ loadMs: Math.round(performance.now() - started), sampleRate: tts.sampleRate, speakers: tts.numSpeakers }, 'sherpa-onnx TTS ready');
    return engine;
  }

  synthesize(text: string, lang: Lang): Promise<Int16Array> {
    const run = async (): Promise<Int16Array> => {
      const tts = this.tts;
      if (!tts) throw new SherpaTtsConfigError('sherpa-onnx TTS engine is closed');
      const started = performance.now();
      const sid = this.options.speakers?.[lang] ?? this.options.speakerId ?? 0;
      const audio = await tts.generateAsync({ text, sid, speed: this.options.speed ?? 1 });
      const pcm = new Int16Array(audio.samples.length);
      for (let i = 0; i < pcm.length; i++) {
        const v = audio.samples[i];
        pcm[i] = v >= 1 ? 32767 : v <= -1 ? -32768 : Math.round(v * 32767);
      }
      this.log?.debug({ chars: text.length, ms: Math.round(performance.now() - started), audioMs: Math.round((pcm.length * 1000) / this.sampleRate) }, 'sherpa TTS sentence');
      return pcm;
    };
    // sherpa's OfflineTts is not documented as safe for concurrent generate calls: serialize them.
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.queue;
    // The native object is released by GC once unreferenced; sherpa-onnx-node has no explicit free for TTS.
    this.tts = undefined;
  }
}
