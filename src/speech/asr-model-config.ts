/**
 * Turns `speech.asr` plus a resolved model folder into sherpa-onnx's OnlineRecognizer config, for every online
 * family sherpa supports. Plain data, so it can be handed to the decoding worker as is.
 */
import type { SpeechConfig } from './config.ts';
import type { ResolvedModel } from './models/model-lookup.ts';
import type { ModelFiles, SherpaFamily } from './models/model-registry.ts';
import type { SherpaOfflineModelConfig, SherpaOfflineRecognizerConfig, SherpaOnlineModelConfig, SherpaOnlineRecognizerConfig } from './models/sherpa-binding.ts';

export type OnlineFamily = 'transducer' | 'paraformer' | 'zipformer2Ctc' | 'nemoCtc' | 'toneCtc';

const ONLINE_FAMILIES: readonly SherpaFamily[] = ['transducer', 'paraformer', 'zipformer2Ctc', 'nemoCtc', 'toneCtc'];

export class AsrConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AsrConfigError';
  }
}

type AsrSection = SpeechConfig['asr'];

/** `section`: the config section whose `files` can name the missing file (speech.asr, speech.asr.secondPass). */
function required(files: ModelFiles, role: keyof ModelFiles, family: string, what: string, section: string): string {
  const path = files[role];
  if (!path) throw new AsrConfigError(`${what} (${family}) needs a "${role}" file (set ${section}.files.${role})`);
  return path;
}

/** A model's files with those a config section names overriding the registry layout. */
function withFileOverrides(model: ResolvedModel, overrides: Partial<Record<keyof ModelFiles, string>> | undefined): ModelFiles {
  return { ...model.files, ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined)) };
}

/** Model files with `speech.asr.files` overriding the registry layout. */
export function asrModelFiles(asr: AsrSection, model: ResolvedModel): ModelFiles {
  return withFileOverrides(model, asr.files);
}

export function asrFamily(asr: AsrSection, model: ResolvedModel): OnlineFamily {
  const family = asr.family ?? model.spec?.family;
  if (!family) throw new AsrConfigError(`ASR model "${model.name}" is not in the registry: set speech.asr.family`);
  if (!ONLINE_FAMILIES.includes(family)) {
    throw new AsrConfigError(`ASR model "${model.name}" is a ${family} model; the streaming recognizer needs one of ${ONLINE_FAMILIES.join(', ')}`);
  }
  return family as OnlineFamily;
}

export function buildRecognizerConfig(asr: AsrSection, model: ResolvedModel, hotwordsFile?: string): SherpaOnlineRecognizerConfig {
  const family = asrFamily(asr, model);
  const files = asrModelFiles(asr, model);
  const need = (role: keyof ModelFiles): string => required(files, role, family, `ASR model "${model.name}"`, 'speech.asr');
  const modelConfig: SherpaOnlineModelConfig = {
    tokens: need('tokens'),
    numThreads: asr.numThreads,
    provider: 'cpu',
    debug: 0,
  };
  switch (family) {
    case 'transducer':
      modelConfig.transducer = { encoder: need('encoder'), decoder: need('decoder'), joiner: need('joiner') };
      break;
    case 'paraformer':
      modelConfig.paraformer = { encoder: need('encoder'), decoder: need('decoder') };
      break;
    case 'zipformer2Ctc':
      modelConfig.zipformer2Ctc = { model: need('model') };
      break;
    case 'nemoCtc':
      modelConfig.nemoCtc = { model: need('model') };
      break;
    case 'toneCtc':
      modelConfig.toneCtc = { model: need('model') };
      break;
  }
  // Hotwords are a transducer beam-search feature in sherpa-onnx; elsewhere they would be silently ignored.
  const useHotwords = hotwordsFile !== undefined && family === 'transducer' && asr.decodingMethod === 'modified_beam_search';
  if (useHotwords) {
    if (asr.modelingUnit) modelConfig.modelingUnit = asr.modelingUnit;
    if (asr.bpeVocab) modelConfig.bpeVocab = asr.bpeVocab;
  }
  return {
    featConfig: { sampleRate: 16000, featureDim: 80 },
    modelConfig,
    // CTC and paraformer models decode greedily whatever is asked; only transducers search beams.
    decodingMethod: family === 'transducer' ? asr.decodingMethod : 'greedy_search',
    maxActivePaths: 4,
    // callpilot's endpointer decides turns (VAD + expected answers); sherpa's own rules stay off.
    enableEndpoint: false,
    ...(useHotwords ? { hotwordsFile, hotwordsScore: asr.hotwordsScore } : {}),
  };
}

/** Whether the configured hotwords will reach the decoder (for a warning when they would not). */
export function hotwordsSupported(asr: AsrSection, model: ResolvedModel): boolean {
  return asrFamily(asr, model) === 'transducer' && asr.decodingMethod === 'modified_beam_search';
}

type SecondPassSection = AsrSection['secondPass'];
type OfflineFamily = NonNullable<SecondPassSection['family']>;
const OFFLINE_FAMILIES: readonly string[] = ['senseVoice', 'zipformerCtc', 'nemoCtc', 'paraformer'] satisfies readonly OfflineFamily[];

/**
 * The offline recognizer of the two-pass final (`speech.asr.secondPass`) for a resolved model folder. A registry
 * model must be one published for offline decoding: the streaming ones of the same family have other inputs.
 */
export function buildSecondPassConfig(pass: SecondPassSection, model: ResolvedModel): SherpaOfflineRecognizerConfig {
  if (model.spec?.streaming === true) {
    throw new AsrConfigError(`second-pass model "${model.name}" is a streaming model; speech.asr.secondPass needs an offline one (e.g. sense-voice)`);
  }
  const family = pass.family ?? model.spec?.family;
  if (!family) throw new AsrConfigError(`second-pass model "${model.name}" is not in the registry: set speech.asr.secondPass.family`);
  if (!OFFLINE_FAMILIES.includes(family)) {
    throw new AsrConfigError(`second-pass model "${model.name}" is a ${family} model; the second pass needs one of ${OFFLINE_FAMILIES.join(', ')}`);
  }
  const files = withFileOverrides(model, pass.files);
  const need = (role: keyof ModelFiles): string => required(files, role, family, `second-pass model "${model.name}"`, 'speech.asr.secondPass');
  const modelConfig: SherpaOfflineModelConfig = { tokens: need('tokens'), numThreads: pass.numThreads, provider: 'cpu', debug: 0 };
  switch (family as OfflineFamily) {
    case 'senseVoice':
      // No inverse text normalization: numbers stay spelled out (三千, 十五号), as the streaming models write them and
      // the flows' keywords and slot parsers were written for.
      modelConfig.senseVoice = { model: need('model'), language: 'auto', useInverseTextNormalization: 0 };
      break;
    case 'zipformerCtc':
      modelConfig.zipformerCtc = { model: need('model') };
      break;
    case 'nemoCtc':
      modelConfig.nemoCtc = { model: need('model') };
      break;
    case 'paraformer':
      modelConfig.paraformer = { model: need('model') };
      break;
  }
  return { featConfig: { sampleRate: 16000, featureDim: 80 }, modelConfig, decodingMethod: 'greedy_search' };
}
