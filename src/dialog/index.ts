/** The dialog stage: the per-call turn loop and call engine, flows (话术) and NLU. */
export * from './types.ts';
export * from './config.ts';
export * from './timeline.ts';
export { TurnLoop, normalizeText, type TurnState, type TurnSummary, type TurnLoopResult, type CallControl, type TurnLoopOptions } from './turn-loop.ts';
export {
  CallEngine,
  type LiveCallInfo,
  type LiveCallEvent,
  type LiveCallControl,
  type AudioTap,
  type CallEngineOptions, type StartCallRequest, type CallOutcome, type EngineMetrics,
  type CallMetricLabels, type CallObserver, type ObservedCall,
} from './call-engine.ts';
export * from './flow/index.ts';
export * from './nlu/index.ts';
export { warmFlowPrompts, type PromptWarmingProgress } from './prompt-warmer.ts';
export { combineObservers } from './observers.ts';
export { estimatedSpeakingMs, heardPart } from './heard-text.ts';
