import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { ROLE_SETS, type AuditLog, type Principal } from '../auth/index.ts';
import { isCallId } from '../core/index.ts';
import type { AudioTap } from '../dialog/index.ts';
import type { MixedFrameListener, WebSocketRoute } from '../media/index.ts';

/** `wss://host/api/listen/<callId>?mix=both|caller|bot`: docs/listen-in.md. */
export const LISTEN_PATH = '/api/listen';

export type ListenMix = 'both' | 'caller' | 'bot';
const MIXES: readonly ListenMix[] = ['both', 'caller', 'bot'];

/** Close codes (4000-4999 are the application's): the call id is not one callpilot made, or no such call runs here. */
export const LISTEN_CLOSE = { badRequest: 4400, notRunning: 4404 } as const;

export interface ListenRouteOptions {
  /** The engine once the models are loaded (undefined before: nothing runs yet). */
  taps: () => { tapAudio(callId: string, listener: MixedFrameListener, onEnd: () => void): AudioTap | undefined } | undefined;
  audit: AuditLog;
  log: Logger;
  /** Frames are dropped, not queued, while the socket holds more than this (a slow listener never delays a call). */
  maxBufferedBytes?: number;
}

/**
 * Listen-in for supervisors: the live audio of a call running on this node, from callpilot's own recording taps (the
 * same caller-frame clock and mix as mixed.wav), as 20 ms binary PCM16 LE messages after a JSON `start` message.
 * Admin and operator roles (live monitoring); every listen is audited (`call.listen`) before any audio is sent.
 */
export function createListenRoute(o: ListenRouteOptions): WebSocketRoute {
  const maxBuffered = o.maxBufferedBytes ?? 64 * 1024;
  return {
    path: LISTEN_PATH,
    roles: ROLE_SETS.operate,
    maxPayload: 1024,
    handle(ws: WebSocket, req: IncomingMessage, principal?: unknown): void {
      const url = new URL(req.url ?? '/', 'http://callpilot.invalid');
      const callId = url.pathname.slice(LISTEN_PATH.length + 1);
      const mix = (url.searchParams.get('mix') ?? 'both') as ListenMix;
      if (!isCallId(callId) || !MIXES.includes(mix)) {
        ws.close(LISTEN_CLOSE.badRequest, !isCallId(callId) ? 'not a callpilot call id' : 'mix is both, caller or bot');
        return;
      }
      const log = o.log.child({ callId, component: 'listen-in' });
      void listen(ws, callId, mix, principal as Principal, log).catch((err: unknown) => {
        log.error({ err }, 'listen-in failed');
        ws.close(1011, 'internal error');
      });
    },
  };

  async function listen(ws: WebSocket, callId: string, mix: ListenMix, principal: Principal, log: Logger): Promise<void> {
    // Audited before the first byte of audio: nobody listens unrecorded.
    await o.audit.record(principal, 'call.listen', callId, { mix });
    if (ws.readyState !== ws.OPEN) return;
    let dropped = 0;
    let sent = 0;
    const tap = o.taps()?.tapAudio(
      callId,
      (caller, bot, mixed) => {
        if (ws.bufferedAmount > maxBuffered) {
          dropped++;
          return;
        }
        const pcm = mix === 'caller' ? caller : mix === 'bot' ? bot : mixed;
        // A copy: the tap reuses its arrays, and ws may queue the buffer.
        ws.send(Buffer.from(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)));
        sent++;
      },
      () => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'end', callId, frames: sent, dropped }));
        ws.close(1000, 'call ended');
      },
    );
    if (!tap) {
      ws.close(LISTEN_CLOSE.notRunning, 'the call is not running on this node');
      return;
    }
    log.info({ listener: principal.name, role: principal.role, mix }, 'listen-in started');
    ws.send(JSON.stringify({ type: 'start', callId, sampleRate: tap.sampleRate, encoding: 'pcm16le', channels: 1, frameMs: 20, mix }));
    ws.on('close', () => {
      tap.stop();
      log.info({ frames: sent, dropped }, 'listen-in ended');
    });
    ws.on('message', () => ws.close(LISTEN_CLOSE.badRequest, 'listen-in is receive-only'));
  }
}
