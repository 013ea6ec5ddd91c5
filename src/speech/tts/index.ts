export type {
  EspeakTtsOptions,
  ResamplerFactory,
  SherpaTtsKind,
  SherpaTtsModelFiles,
  SherpaTtsOptions,
  SpeakerOptions,
  StreamResampler,
  SynthesisTiming,
} from './types.ts';
export { EspeakTtsEngine, EspeakEngineError } from './espeak-engine.ts';
export { createSpeaker, SpeakerError } from './speaker.ts';
export { splitSentences, type Sentence, type SentenceBreak } from './sentence-split.ts';
export { trimSilence, type SilenceTrimOptions } from './silence-trim.ts';
export { SherpaTtsEngine, readSherpaTtsModelDir } from './sherpa-engine.ts';
export { createTtsEngine, type CreateTtsEngineOptions } from './create-engine.ts';
export {
  describeSherpaTtsModel,
  missingSherpaTtsFiles,
  toSherpaTtsConfig,
  SherpaTtsConfigError,
  type ModelDirListing,
  type SherpaOfflineTtsConfig,
} from './sherpa-config.ts';
export { normalizePromptLevel, measureLevel, DEFAULT_PROMPT_LEVEL, type PromptLevelOptions, type LevelMeasure } from './prompt-level.ts';
