import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { listModels, pullModel, resolveModel, ModelNotFoundError, type PullProgress } from '../speech/index.ts';

/** The model real users get when none is configured or found (callpilot-tiny-zh-en exists only for tests). */
export const PRODUCTION_ASR_MODEL = 'sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20';
export const PRODUCTION_VAD_MODEL = 'silero-vad-v5-release';

/** `callpilot models list|pull`. */
export async function runModelsCommand(args: string[], out: (l: string) => void, err: (l: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') {
    for (const m of listModels()) {
      const where = m.installed ? `installed (${m.source}: ${m.dir})` : m.url ? 'not installed — pullable' : 'not installed — local only';
      out(`${m.name.padEnd(62)} ${m.kind.padEnd(4)} ${m.testOnly ? 'test-only ' : ''}${where}`);
    }
    return 0;
  }
  if (sub === 'pull') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { sha256: { type: 'string' }, force: { type: 'boolean' } },
    });
    const name = positionals[0];
    if (!name) {
      err('usage: callpilot models pull NAME [--sha256 HEX] [--force]');
      return 2;
    }
    const result = await pullModel(name, { sha256: values.sha256, force: values.force, onProgress: progressPrinter(name) });
    process.stderr.write('\n');
    out(`installed ${result.name} in ${result.dir} (sha256 ${result.sha256})`);
    return 0;
  }
  err('usage: callpilot models list | callpilot models pull NAME');
  return 2;
}

function progressPrinter(name: string): (p: PullProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 200 && p.receivedBytes !== p.totalBytes) return;
    last = now;
    const mb = (p.receivedBytes / 1e6).toFixed(1);
    const pct = p.totalBytes ? ` ${((100 * p.receivedBytes) / p.totalBytes).toFixed(0)}%` : '';
    process.stderr.write(`\rdownloading ${name}: ${mb} MB${pct}   `);
  };
}

/**
 * Before the first start: make sure the ASR and VAD models can be found. A missing default model is pulled (with
 * progress, checksum-verified); where that fails (no network), the error names the model and the command.
 */
export async function ensureModels(config: Config, log: Logger): Promise<void> {
  const lookup = { modelsDir: config.speech.modelsDir };
  const wanted: { name: string; fallback: string; set: (name: string) => void }[] = [
    { name: config.speech.asr.model, fallback: PRODUCTION_ASR_MODEL, set: (n) => (config.speech.asr.model = n) },
  ];
  if (!config.speech.vad.model) wanted.push({ name: 'silero-vad', fallback: PRODUCTION_VAD_MODEL, set: () => undefined });
  for (const w of wanted) {
    if (findable(w.name, lookup)) continue;
    const target = findable(w.fallback, lookup) ? undefined : w.fallback;
    if (target) {
      log.warn({ model: w.name }, `model ${w.name} not found; downloading ${target}`);
      try {
        await pullModel(target, { onProgress: progressPrinter(target) });
        process.stderr.write('\n');
      } catch (e) {
        throw new Error(
          `model "${w.name}" is not installed and "${target}" could not be downloaded (${(e as Error).message}). ` +
            `Fetch it with: callpilot models pull ${target}  — or point speech.asr.model / speech.modelsDir / CALLPILOT_MODELS at a model folder.`,
        );
      }
    }
    if (w.name !== w.fallback) {
      log.warn({ configured: w.name, using: w.fallback }, 'configured model missing; using the released default');
      w.set(w.fallback);
    }
  }
}

function findable(name: string, lookup: { modelsDir?: string }): boolean {
  try {
    resolveModel(name, lookup);
    return true;
  } catch (e) {
    if (e instanceof ModelNotFoundError) return false;
    throw e;
  }
}
