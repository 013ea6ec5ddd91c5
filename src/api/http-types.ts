import type { RequestListener, Server } from 'node:http';
import type { CampaignService } from '../campaign/index.ts';
import type { LiveFeed } from '../calls/index.ts';
import type { Logger } from 'pino';
import type { Auth } from '../auth/index.ts';
import type { RecordingKeyring, WebSocketRoute } from '../media/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { NodeRecord, RecordingStorage, Store } from '../store/index.ts';
import type { FlowView } from '../dialog/index.ts';
import type { ServerConfig } from './config.ts';
import type { OriginateCallRequest } from './originate-request.ts';
import type { DeclaredRoute } from './access-control.ts';

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

/** A node as GET /api/nodes shows it: its registry row and whether its heartbeat is recent. */
export interface NodeStatusView extends NodeRecord {
  alive: boolean;
}

/** `status` of a refusal: 422 for an endpoint the PBX does not have; default 502. */
export type OriginateOutcome = { callId: string } | { error: string; status?: number };

export type CallTargetVerdict = { ok: true } | { ok: false; field: 'flow' | 'lang'; message: string; valid: string[] };

/**
 * A node:http server already listening on the configured address (bound before the heavy modules load, so /healthz
 * answers within moments of `callpilot start`). The full server takes its requests over instead of listening again.
 */
export interface PreboundServer {
  readonly server: Server;
  /** From now on every request goes to `handler` and upgrades to the listeners the full server added. */
  handOver(handler: RequestListener): void;
}

/** One PBX connection as GET /api/pbx shows it. */
export interface PbxStatusView {
  kind: string;
  connected: boolean;
  detail?: string;
}

export interface HttpServerOptions {
  config: ServerConfig;
  /** Use this listening server instead of binding config host/port in listen(). */
  prebound?: PreboundServer;
  log: Logger;
  metrics: Metrics;
  store: Store;
  /** Campaign lifecycle and DNC ledger (REST /api/campaigns, /api/dnc); absent in bare API tests. */
  campaigns?: CampaignService;
  /** The CRM webhook sender: replays through the API wake it. */
  webhooks?: { poke(): void };
  /** WebSocket endpoints (callpilot's /media, chan_websocket, mod_audio_stream); longest path prefix wins. */
  webSocketRoutes: WebSocketRoute[];
  readiness: () => Readiness;
  /** Places an outbound call; absent when no PBX is configured (POST /api/calls then answers 503). */
  originate?: (req: OriginateCallRequest) => Promise<OriginateOutcome>;
  /**
   * Checks an outbound call's flow and language against what is loaded, before anything is dialled (a call to a
   * missing flow would reach a person and hang up on them). Absent: not checked.
   */
  checkCallTarget?: (target: { flow?: string; lang?: string }) => CallTargetVerdict;
  /** The nodes sharing the store (GET /api/nodes). */
  nodes?: () => Promise<NodeStatusView[]>;
  /** The loaded flows as diagrams (GET /api/flows); absent before the dialogs load. */
  flows?: () => FlowView[];
  /** This node's PBX connections (GET /api/pbx). */
  pbx?: () => PbxStatusView[];
  /** Recordings are only ever served from inside this folder. */
  recordingsDir: string;
  /** Where finished recordings are kept (store.recordingStorage); absent: the recordingsDir folder itself. */
  recordingStorage?: RecordingStorage;
  /** Decrypts `.wav.enc` recordings for download (store.recordingKey and its old keys). */
  recordingKeyring?: RecordingKeyring;
  /** Tokens, audit log and PBX media tokens; built on `store` when absent. */
  auth?: Auth;
  /** The live feed (`/api/live`, `/api/calls/:id/live`, SSE and WebSocket); absent: those routes are not served. */
  live?: LiveFeed;
  /** Serve /metrics without a token (observability.metricsPublic). */
  metricsPublic?: boolean;
}

export interface HttpServer {
  /** Every HTTP route with the roles it declared, and every WebSocket endpoint (route enumeration tests). */
  readonly routes: readonly DeclaredRoute[];
  readonly webSocketEndpoints: readonly { path: string; protocols?: readonly string[]; roles: readonly string[] }[];
  /**
   * Start listening on config host/port (or take the prebound server's requests over); resolves with the base URL,
   * e.g. `http://127.0.0.1:8080`.
   */
  listen(): Promise<string>;
  /** Close WebSocket connections and the server. Idempotent. */
  close(): Promise<void>;
}
