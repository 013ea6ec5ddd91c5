import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import type { WebSocketRoute } from '../types.ts';
import { MediaWebSocketLeg } from './media-websocket-leg.ts';
import {
  CLOSE_POLICY_VIOLATION,
  DEFAULT_MEDIA_PATH,
  type MediaStart,
  describeIssues,
  mediaStartSchema,
} from './protocol.ts';

export interface MediaWebSocketRouteOptions {
  /** Default '/media'. */
  path?: string;
  /** Called once per accepted `start`; the leg is live (audio may already be arriving). */
  onLeg: (leg: MediaWebSocketLeg, start: MediaStart) => void;
  log?: Logger;
  maxQueuedMs?: number;
  /** A client that has not sent `start` by then is disconnected. Default 10000 ms. */
  startTimeoutMs?: number;
}

/** RFC 6455 close reasons are limited to 123 bytes. */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString()}...`;
}

/**
 * The /media endpoint. It declares no `protocols`, so it serves clients asking for no
 * subprotocol or for `callpilot-media`. Until a valid `start` arrives the connection is handled
 * here; from then on it belongs to a MediaWebSocketLeg.
 */
export function createMediaWebSocketRoute(opts: MediaWebSocketRouteOptions): WebSocketRoute {
  const log = opts.log ?? pino({ level: 'silent' });
  const startTimeoutMs = opts.startTimeoutMs ?? 10000;

  function refuse(ws: WebSocket, message: string): void {
    log.info({ reason: message }, 'media socket refused');
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ event: 'error', message }));
    ws.close(CLOSE_POLICY_VIOLATION, closeReason(message));
  }

  function handle(ws: WebSocket, req: IncomingMessage): void {
    const remote = req.socket.remoteAddress;
    const timer = setTimeout(() => refuse(ws, `no start within ${startTimeoutMs} ms`), startTimeoutMs);
    const stopWaiting = (): void => {
      clearTimeout(timer);
      ws.off('message', onFirstMessage);
      ws.off('close', onEarlyClose);
    };
    const onEarlyClose = (): void => stopWaiting();
    const onFirstMessage = (data: RawData, isBinary: boolean): void => {
      stopWaiting();
      if (isBinary) {
        refuse(ws, 'binary audio before start');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        refuse(ws, 'first message must be a JSON start');
        return;
      }
      const result = mediaStartSchema.safeParse(parsed);
      if (!result.success) {
        refuse(ws, `invalid start: ${describeIssues(result.error)}`);
        return;
      }
      const { event: _event, ...fields } = result.data;
      const start: MediaStart = { ...fields, callId: fields.callId ?? randomUUID(), variables: fields.variables ?? {} };
      const leg = new MediaWebSocketLeg(ws, start, { log, maxQueuedMs: opts.maxQueuedMs });
      log.info({ callId: start.callId, codec: start.codec, sampleRate: start.sampleRate, remote }, 'media socket started');
      ws.send(JSON.stringify({ event: 'started', callId: start.callId }));
      try {
        opts.onLeg(leg, start);
      } catch (err) {
        log.error({ err, callId: start.callId }, 'onLeg threw; closing the media socket');
        void leg.close({ code: 'shutdown', detail: 'server could not take the call' });
      }
    };
    ws.on('message', onFirstMessage);
    ws.on('close', onEarlyClose);
    ws.on('error', (err: Error) => log.debug({ err: err.message, remote }, 'media socket error'));
  }

  // Browsers (the console, with a session) and media clients of the protocol (with an admin, operator or pbx token).
  return { path: opts.path ?? DEFAULT_MEDIA_PATH, roles: ['admin', 'operator', 'pbx'], handle };
}
