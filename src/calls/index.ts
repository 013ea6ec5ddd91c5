/** Orchestration: running PBX calls through the engine and the one outbound-call path. */
export { PbxCallRunner, type CallRunEnd, type PbxCallRunnerOptions } from './pbx-call-runner.ts';
export {
  OutboundCallService,
  type EarlyMediaMonitorFactory,
  type OutboundCallOutcome,
  type OutboundCallRequest,
  type OutboundCallServiceEvents,
  type OutboundCallServiceOptions,
  type PlaceCallResult,
  type PlaceCallHooks,
} from './outbound-call-service.ts';
export { parseTransferTarget } from './transfer-target.ts';
export { channelOfCall, settlePendingTransfers, settleRecoveredTransfer, TRANSFER_PENDING, TRANSFER_UNVERIFIED } from './pending-transfers.ts';
export { runMediaWebSocketCall } from './websocket-call.ts';
export { createListenRoute, LISTEN_CLOSE, LISTEN_PATH, type ListenMix, type ListenRouteOptions } from './listen-route.ts';
export { engineMetrics } from './engine-metrics.ts';
export { readiness, type Readiness, type ReadinessCheck } from './readiness.ts';
export { completeInterruptedCalls, turnsMissingFromEvents, type RecoveryReport } from './crash-recovery.ts';
export {
  CallAdmission,
  CALLS_PER_CORE,
  defaultMaxCalls,
  type AdmissionResult,
  type AdmissionTicket,
  type CallAdmissionOptions,
  type LoadProbe,
  type RefusalReason,
} from './call-admission.ts';
export {
  LiveFeed,
  maskMessage,
  type LiveCallSummary,
  type LiveCloseReason,
  type LiveFeedOptions,
  type LiveMessage,
  type LiveMessageBody,
  type LiveMessageType,
  type LiveQaHit,
  type LiveSink,
  type LiveSubscription,
} from './live-feed.ts';
