import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { newCallId } from '../../core/index.ts';
import type { WebSocketRoute } from '../types.ts';
import { MediaWebSocketLeg } from './media-websocket-leg.ts';
import {
  CLOSE_POLICY_VIOLATION,
  CLOSE_TRY_AGAIN_LATER,
  DEFAULT_MEDIA_PATH,
  MAX_MEDIA_MESSAGE_BYTES,
  MAX_START_BYTES,
  type MediaStart,
  closeReason,
  describeIssues,
  mediaStartSchema,
} from './protocol.ts';

export interface MediaWebSocketRouteOptions {
  /** Default '/media'. */
  path?: string;
  /**
   * Called once per accepted `start`; the leg is live (audio may already be arriving). `release` frees the place
   * `admit` took; call it when the call is over (stored).
   */
  onLeg: (leg: MediaWebSocketLeg, start: MediaStart, release: () => void) => void;
  /**
   * Asked before a valid start becomes a call: a refusal closes the socket with 1013 and the reason, after an
   * `end` message with reason `refused`. Default: every call is taken.
   */
  admit?: () => { ok: true; release: () => void } | { ok: false; detail: string };
  log?: Logger;
  maxQueuedMs?: number;
  /** A client that has not sent `start` by then is disconnected. Default 10000 ms. */
  startTimeoutMs?: number;
}

/**
 * The /media endpoint. It declares no `protocols`, so it serves clients asking for no
 * subprotocol or for `callpilot-media`. Until a valid `start` arrives the connection is handled
 * here; from then on it belongs to a MediaWebSocketLeg.
 */
export function createMediaWebSocketRoute(opts: MediaWebSocketRouteOptions): WebSocketRoute {
  const log = opts.log ?? pino({ level: 'silent' });
  const startTimeoutMs = opts.startTimeoutMs ?? 10000;

  function refuse(ws: WebSocket, message: string, remote: string | undefined): void {
    // One line per connection at most: a connection is refused once.
    log.info({ reason: message.slice(0, 200), remote }, 'media socket refused');
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ event: 'error', message }));
    ws.close(CLOSE_POLICY_VIOLATION, closeReason(message));
  }

  function handle(ws: WebSocket, req: IncomingMessage): void {
    const remote = req.socket.remoteAddress;
    const timer = setTimeout(() => refuse(ws, `no start within ${startTimeoutMs} ms`, remote), startTimeoutMs);
    const stopWaiting = (): void => {
      clearTimeout(timer);
      ws.off('message', onFirstMessage);
      ws.off('close', onEarlyClose);
    };
    const onEarlyClose = (): void => stopWaiting();
    const onFirstMessage = (data: RawData, isBinary: boolean): void => {
      stopWaiting();
      if (isBinary) {
        refuse(ws, 'binary audio before start', remote);
        return;
      }
      const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
      if (bytes > MAX_START_BYTES) {
        refuse(ws, `start of ${bytes} B exceeds ${MAX_START_BYTES} B`, remote);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        refuse(ws, 'first message must be a JSON start', remote);
        return;
      }
      const result = mediaStartSchema.safeParse(parsed);
      if (!result.success) {
        refuse(ws, `invalid start: ${describeIssues(result.error)}`, remote);
        return;
      }
      const admission = opts.admit?.() ?? { ok: true as const, release: () => undefined };
      if (!admission.ok) {
        log.info({ reason: admission.detail, remote }, 'media call refused');
        ws.send(JSON.stringify({ event: 'end', reason: 'refused', detail: admission.detail }));
        ws.close(CLOSE_TRY_AGAIN_LATER, closeReason(admission.detail));
        return;
      }
      const { event: _event, callId: legacyId, externalId, ...fields } = result.data;
      // The call id is ours; what the client called it is kept as externalId and never used in a path.
      const start: MediaStart = { ...fields, callId: newCallId(), externalId: externalId ?? legacyId, variables: fields.variables ?? {} };
      const leg = new MediaWebSocketLeg(ws, start, { log, maxQueuedMs: opts.maxQueuedMs });
      log.info({ callId: start.callId, externalId: start.externalId, codec: start.codec, sampleRate: start.sampleRate, remote }, 'media socket started');
      ws.send(JSON.stringify({ event: 'started', callId: start.callId, ...(start.externalId ? { externalId: start.externalId } : {}) }));
      try {
        opts.onLeg(leg, start, admission.release);
      } catch (err) {
        admission.release();
        log.error({ err, callId: start.callId }, 'onLeg threw; closing the media socket');
        leg.close({ code: 'shutdown', detail: 'server could not take the call' }).catch((closeErr: unknown) => {
          log.warn({ err: closeErr, callId: start.callId }, 'closing the refused media socket failed');
        });
      }
    };
    ws.on('message', onFirstMessage);
    ws.on('close', onEarlyClose);
    ws.on('error', (err: Error) => log.debug({ err: err.message, remote }, 'media socket error'));
  }

  // Browsers (the console, with a session) and media clients of the protocol (with an admin, operator or pbx token).
  // The largest legal frame is a binary message of MAX_MEDIA_MESSAGE_BYTES; ws closes bigger ones with 1009.
  return { path: opts.path ?? DEFAULT_MEDIA_PATH, roles: ['admin', 'operator', 'pbx'], maxPayload: MAX_MEDIA_MESSAGE_BYTES, handle };
}
