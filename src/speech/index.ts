export * from './types.ts';
export * from './config.ts';
export * from './echoGuard.ts';
export * from './tts/index.ts';
/** Listening side: `createSpeechEngine(cfg, { log })` -> SpeechEngine (VAD pool + shared streaming ASR + endpointer). */
export { createSpeechEngine, type SpeechEngineOptions } from './speechEngine.ts';
export { normalizeForMatch } from './endpointerMatch.ts';
export { AsrConfigError } from './asrModelConfig.ts';
export { AsrWorkerError } from './asrWorkerClient.ts';
/** Models: registry, lookup (`resolveModel`, `listModels`) and `pullModel` for `callpilot models`. */
export { MODEL_REGISTRY, findModelSpec, type ModelSpec, type ModelKind, type SherpaFamily, type ModelFiles } from './models/modelRegistry.ts';
export {
  resolveModel,
  listModels,
  modelSearchDirs,
  defaultCacheDir,
  sharedModelsDir,
  ModelNotFoundError,
  type ModelStatus,
  type ResolvedModel,
  type ModelLookupOptions,
  type ModelSource,
} from './models/modelLookup.ts';
export { pullModel, ModelPullError, type PullOptions, type PullProgress, type PullResult, type PullErrorCode } from './models/modelPull.ts';
export * from './onsetDetector.ts';
