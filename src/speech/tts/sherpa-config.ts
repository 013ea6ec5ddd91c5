import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SherpaTtsModelFiles, SherpaTtsOptions } from './types.ts';

export class SherpaTtsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SherpaTtsConfigError';
  }
}

/** The config object `new OfflineTts(...)` of sherpa-onnx-node takes (only the fields we set). */
export interface SherpaOfflineTtsConfig {
  model: {
    vits?: { model: string; tokens: string; lexicon: string; dataDir: string; dictDir: string };
    matcha?: { acousticModel: string; vocoder: string; tokens: string; lexicon: string; dataDir: string; dictDir: string };
    kokoro?: { model: string; voices: string; tokens: string; lexicon: string; dataDir: string; dictDir: string; lang: string };
    numThreads: number;
    provider: 'cpu';
    debug: number;
  };
  ruleFsts: string;
  ruleFars: string;
  maxNumSentences: number;
  silenceScale: number;
}

/** What a model folder holds: file and subfolder names directly inside it. */
export interface ModelDirListing {
  files: string[];
  dirs: string[];
}

/** Normalization FSTs run in this order in sherpa's published examples: dates before phone numbers before numbers. */
const FST_ORDER = ['date', 'phone', 'number'];

function fstRank(name: string): number {
  const rank = FST_ORDER.findIndex((prefix) => name.startsWith(prefix));
  if (rank >= 0) return rank;
  return name.includes('heteronym') ? FST_ORDER.length + 1 : FST_ORDER.length;
}

function pickOnnx(files: string[], preferred: RegExp[]): string | undefined {
  for (const pattern of preferred) {
    const hit = files.find((f) => pattern.test(f));
    if (hit) return hit;
  }
  const onnx = files.filter((f) => f.endsWith('.onnx'));
  return onnx.length === 1 ? onnx[0] : undefined;
}

/**
 * Recognizes a released sherpa-onnx TTS model from its folder layout (vits incl. piper and melo, matcha, kokoro)
 * and names its files. Pure: the caller lists the folder. Throws when the layout is ambiguous.
 */
export function describeSherpaTtsModel(dir: string, listing: ModelDirListing): SherpaTtsModelFiles {
  const { files, dirs } = listing;
  const at = (name: string): string => join(dir, name);
  const has = (name: string): boolean => files.includes(name);
  const tokens = has('tokens.txt') ? at('tokens.txt') : '';
  const dataDir = dirs.includes('espeak-ng-data') ? at('espeak-ng-data') : undefined;
  const dictDir = dirs.includes('dict') ? at('dict') : undefined;
  const ruleFsts = files.filter((f) => f.endsWith('.fst')).sort((a, b) => fstRank(a) - fstRank(b) || a.localeCompare(b)).map(at);
  const ruleFars = files.filter((f) => f.endsWith('.far')).sort().map(at);
  const lexicons = files.filter((f) => /^lexicon.*\.txt$/.test(f)).sort();
  const lexicon = lexicons.length > 0 ? lexicons.map(at).join(',') : undefined;
  const common = { tokens, lexicon, dataDir, dictDir, ruleFsts, ruleFars };

  if (has('voices.bin')) {
    const model = pickOnnx(files, [/^model\.onnx$/, /^kokoro.*\.onnx$/]);
    if (!model) throw new SherpaTtsConfigError(`kokoro model in ${dir}: cannot tell which .onnx file is the model`);
    return { kind: 'kokoro', model: at(model), voices: at('voices.bin'), ...common };
  }
  const vocoder = files.find((f) => /^(vocos|hifigan).*\.onnx$/.test(f));
  const acoustic = files.find((f) => /^model-steps-\d+\.onnx$/.test(f));
  if (acoustic) {
    if (!vocoder) throw new SherpaTtsConfigError(`matcha model in ${dir} has no vocoder (vocos-*.onnx or hifigan*.onnx): put one in the folder`);
    return { kind: 'matcha', acousticModel: at(acoustic), vocoder: at(vocoder), ...common };
  }
  const model = pickOnnx(files, [/^model\.onnx$/]);
  if (!model) throw new SherpaTtsConfigError(`no vits model in ${dir}: expected model.onnx or a single .onnx file`);
  return { kind: 'vits', model: at(model), ...common };
}

/** Every file or folder the model needs that does not exist, so one error can name them all. */
export function missingSherpaTtsFiles(files: SherpaTtsModelFiles, exists: (path: string) => boolean = existsSync): string[] {
  const required: Array<[string, string | undefined]> = [['tokens', files.tokens]];
  if (files.kind === 'vits') required.push(['model', files.model]);
  if (files.kind === 'kokoro') required.push(['model', files.model], ['voices', files.voices]);
  if (files.kind === 'matcha') required.push(['acousticModel', files.acousticModel], ['vocoder', files.vocoder]);
  const optional: Array<[string, string | undefined]> = [
    ['dataDir', files.dataDir],
    ['dictDir', files.dictDir],
    ...(files.lexicon ?? '').split(',').filter(Boolean).map((p): [string, string] => ['lexicon', p]),
    ...(files.ruleFsts ?? []).map((p): [string, string] => ['ruleFsts', p]),
    ...(files.ruleFars ?? []).map((p): [string, string] => ['ruleFars', p]),
  ];
  const missing: string[] = [];
  for (const [role, path] of required) {
    if (!path) missing.push(`${role} (not given)`);
    else if (!exists(path)) missing.push(`${role}: ${path}`);
  }
  for (const [role, path] of optional) if (path && !exists(path)) missing.push(`${role}: ${path}`);
  return missing;
}

/** Maps our description of a model to the object sherpa-onnx-node's OfflineTts constructor takes. Pure. */
export function toSherpaTtsConfig(files: SherpaTtsModelFiles, options: Omit<SherpaTtsOptions, 'model' | 'log'> = {}): SherpaOfflineTtsConfig {
  const shared = { tokens: files.tokens, lexicon: files.lexicon ?? '', dataDir: files.dataDir ?? '', dictDir: files.dictDir ?? '' };
  const model: SherpaOfflineTtsConfig['model'] = { numThreads: options.numThreads ?? 1, provider: 'cpu', debug: 0 };
  switch (files.kind) {
    case 'vits':
      model.vits = { model: files.model ?? '', ...shared };
      break;
    case 'matcha':
      model.matcha = { acousticModel: files.acousticModel ?? '', vocoder: files.vocoder ?? '', ...shared };
      break;
    case 'kokoro':
      model.kokoro = { model: files.model ?? '', voices: files.voices ?? '', lang: files.lang ?? '', ...shared };
      break;
  }
  return {
    model,
    ruleFsts: (files.ruleFsts ?? []).join(','),
    ruleFars: (files.ruleFars ?? []).join(','),
    // One sentence per call: the Speaker already feeds sentence by sentence, and batching would delay the first audio.
    maxNumSentences: options.maxNumSentences ?? 1,
    silenceScale: options.silenceScale ?? 0.2,
  };
}
