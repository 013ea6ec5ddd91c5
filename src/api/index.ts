export * from './config.ts';
export { createHttpServer } from './http-server.ts';
export type { HttpServer, HttpServerOptions, Readiness, ReadinessCheck, OriginateOutcome, NodeStatusView, PbxStatusView, CallTargetVerdict, PreboundServer } from './http-types.ts';
export { originateCallRequestSchema, type OriginateCallRequest } from './originate-request.ts';
export { matchWebSocketRoute, CALLPILOT_MEDIA_SUBPROTOCOL, type RouteMatch } from './websocket-dispatch.ts';
export { BODY_LIMITS, DEFAULT_UPLOAD_LIMIT_BYTES } from './body-limits.ts';
