/** Types and helpers every stage shares; depends on nothing else in src/. */
export { LANGS, isLang, type Lang } from './lang.ts';
export { newCallId, isCallId, type CallId } from './call-id.ts';
export { maskNumber, maskText, maskVariables, maskValue, isSensitiveName, MIN_MASKED_DIGITS } from './number-mask.ts';
export {
  AMD_KINDS,
  CALL_PROGRESS_KINDS,
  progressFromCause,
  progressVerdictFromCause,
  type AmdKind,
  type AmdReason,
  type AmdVerdict,
  type CallProgressKind,
  type CallProgressSource,
  type CallProgressVerdict,
  type EarlyMediaHeard,
  type EarlyMediaMonitor,
} from './call-progress.ts';
export { CALLPILOT_VERSION } from './version.ts';
export { MEDIA_TOKEN_PARAM, type MediaTokenIssuer } from './media-token.ts';
export { WarnLimiter } from './warn-limiter.ts';
export { readingsOf, soundsAlike, soundsLikeAt, toneOf } from './sound-alike.ts';
export { parentChannel, startFailed, startOrFail, startTsWorker, workerReady, type ParentChannel, type WorkerStartFailure, type WorkerStartReply } from './ts-worker.ts';
