export * from './types.ts';
export * from './config.ts';
export * from './echo-guard.ts';
export { EchoCanceller, type EchoCancellerOptions } from './echo-canceller.ts';
export * from './tts/index.ts';
/** Listening side: `createSpeechEngine(cfg, { log })` -> SpeechEngine (VAD pool + shared streaming ASR + endpointer). */
export { createSpeechEngine, type SpeechEngineOptions } from './speech-engine.ts';
export type { SpeechStageTimings } from './call-speech.ts';
export { normalizeForMatch } from './endpointer-match.ts';
export { AsrConfigError } from './asr-model-config.ts';
export { AsrWorkerError } from './asr-worker-client.ts';
/** Models: registry, lookup (`resolveModel`, `listModels`) and `pullModel` for `callpilot models`. */
export { MODEL_REGISTRY, findModelSpec, type ModelSpec, type ModelKind, type SherpaFamily, type ModelFiles } from './models/model-registry.ts';
export {
  resolveModel,
  listModels,
  modelSearchDirs,
  defaultCacheDir,
  sharedModelsDir,
  bundledModelsDir,
  ModelNotFoundError,
  type ModelStatus,
  type ResolvedModel,
  type ModelLookupOptions,
  type ModelSource,
} from './models/model-lookup.ts';
export { pullModel, ModelPullError, type PullOptions, type PullProgress, type PullResult, type PullErrorCode } from './models/model-pull.ts';
export { defaultLockFile, readModelsLock, ModelsLockError, type ModelsLock, type LockEntry, type LockTrust } from './models/model-lock.ts';
export * from './onset-detector.ts';
export { endOfTurnWait, incompletenessCue, isQuestion, UNKNOWN_TURN_CONTEXT } from './end-of-turn.ts';
export type { AnswerKind, TurnContext, ProsodyEnd, EndOfTurnCue, EndOfTurnDecision, EndOfTurnInput, EndOfTurnOptions } from './end-of-turn.ts';
export { ProsodyTracker } from './prosody.ts';
export { TurnModelError, resolveTurnModelPath, type TurnModel } from './turn-model.ts';
export { loadTurnModel } from './turn-model-client.ts';
export * from './call-progress/index.ts';
