import { MEDIA_TOKEN_PARAM, type MediaTokenIssuer } from '../../../core/index.ts';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { CallerClockOptions } from '../../../media/index.ts';
import type { AsteriskConfig } from '../../config.ts';
import type { AriRest } from '../ari/ari-rest.ts';
import type { AriChannel } from '../ari/ari-types.ts';
import { AudioSocketLeg } from './audiosocket-leg.ts';
import type { AudioSocketServer } from './audiosocket-server.ts';
import { ChanWebSocketLeg } from './chan-websocket-leg.ts';
import { RtpLeg } from './rtp-leg.ts';
import type { RtpPortPool } from './rtp-port-pool.ts';

export type AsteriskMediaLeg = ChanWebSocketLeg | AudioSocketLeg | RtpLeg;

/** What opening external media needs from the adapter. */
export interface ExternalMediaDeps {
  rest: AriRest;
  cfg: AsteriskConfig;
  log: Logger;
  audioSocket?: { server: AudioSocketServer; port: number };
  rtpPorts: RtpPortPool;
  /** Legs waiting for Asterisk to dial our /media route (client mode), by media channel id. */
  clientLegs: Map<string, ChanWebSocketLeg>;
  /** Resolves on the media channel's StasisStart; rejects if it is destroyed first. */
  waitForStasis(channelId: string): Promise<void>;
  maxQueuedMs?: number;
  clock?: CallerClockOptions;
  /** Per-call secret added to the client-mode URL (`callpilot_token`). */
  mediaToken?: MediaTokenIssuer;
  /** An RTP packet from anywhere but the call's peer was dropped. */
  rtpRejected?: () => void;
}

export interface ExternalMedia {
  leg: AsteriskMediaLeg;
  channelId: string;
}

/** Reject after `ms` with a message that says what was being waited for. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The query parameter callpilot adds to the client-mode URL to find the call (transport_data v()). */
export const CLIENT_MEDIA_PARAM = 'callpilot_media';

/**
 * Create the externalMedia channel for one call and bring its transport up, up to the point
 * where the channel is in Stasis (ready to be bridged). The caller bridges it and waits for audio.
 */
export async function createExternalMedia(deps: ExternalMediaDeps, callId: string, mediaChannelId: string, log: Logger): Promise<ExternalMedia> {
  const { cfg, rest } = deps;
  const timeout = cfg.mediaTimeoutMs;
  const legOpts = { callId, log, maxQueuedMs: deps.maxQueuedMs, clock: deps.clock };
  const inStasis = deps.waitForStasis(mediaChannelId);
  // A failure below must not leave this rejection unhandled.
  inStasis.catch(() => undefined);

  switch (cfg.media) {
    case 'websocket': {
      const leg = new ChanWebSocketLeg({ ...legOpts, format: cfg.format });
      try {
        const ch = await rest.externalMedia({
          app: cfg.app,
          channelId: mediaChannelId,
          transport: 'websocket',
          encapsulation: 'none',
          connectionType: 'server',
          format: cfg.format,
        });
        const connectionId = ch.channelvars?.MEDIA_WEBSOCKET_CONNECTION_ID;
        if (!connectionId) throw new Error('externalMedia reply has no MEDIA_WEBSOCKET_CONNECTION_ID');
        await withTimeout(connectMediaSocket(cfg.url, connectionId, leg), timeout, 'the chan_websocket connection');
        await withTimeout(leg.waitForStart(), timeout, 'MEDIA_START');
        await withTimeout(inStasis, timeout, 'the media channel to enter Stasis');
        return { leg, channelId: mediaChannelId };
      } catch (err) {
        await leg.close({ code: 'transport_error', detail: (err as Error).message });
        throw err;
      }
    }
    case 'websocket-client': {
      const leg = new ChanWebSocketLeg({ ...legOpts, format: cfg.format });
      deps.clientLegs.set(mediaChannelId, leg);
      try {
        await rest.externalMedia({
          app: cfg.app,
          channelId: mediaChannelId,
          transport: 'websocket',
          encapsulation: 'none',
          connectionType: 'client',
          externalHost: cfg.websocketClientId,
          transportData: `v(${CLIENT_MEDIA_PARAM}=${mediaChannelId}${deps.mediaToken ? `,${MEDIA_TOKEN_PARAM}=${deps.mediaToken(mediaChannelId)}` : ''})`,
          format: cfg.format,
        });
        await withTimeout(Promise.race([leg.waitForStart(), inStasis.then(() => leg.waitForStart())]), timeout, 'Asterisk to connect to /media');
        await withTimeout(inStasis, timeout, 'the media channel to enter Stasis');
        return { leg, channelId: mediaChannelId };
      } catch (err) {
        await leg.close({ code: 'transport_error', detail: (err as Error).message });
        throw err;
      } finally {
        deps.clientLegs.delete(mediaChannelId);
      }
    }
    case 'audiosocket': {
      const audioSocket = deps.audioSocket;
      if (!audioSocket) throw new Error('AudioSocket server is not running');
      const rate = cfg.format === 'slin16' ? 16000 : 8000;
      const leg = new AudioSocketLeg({ ...legOpts, sampleRate: rate });
      const uuid = randomUUID();
      let connected!: () => void;
      const claimed = new Promise<void>((resolve) => (connected = resolve));
      audioSocket.server.expect(uuid, (socket, rest) => {
        leg.attach(socket, rest);
        connected();
      });
      try {
        // Asterisk dials our TCP server during this request (refused -> 500).
        await rest.externalMedia({
          app: cfg.app,
          channelId: mediaChannelId,
          transport: 'tcp',
          encapsulation: 'audiosocket',
          externalHost: `${cfg.mediaHost}:${audioSocket.port}`,
          data: uuid,
          format: rate === 16000 ? 'slin16' : 'slin',
        });
        await withTimeout(claimed, timeout, 'the AudioSocket connection');
        await withTimeout(inStasis, timeout, 'the media channel to enter Stasis');
        return { leg, channelId: mediaChannelId };
      } catch (err) {
        audioSocket.server.cancel(uuid);
        await leg.close({ code: 'transport_error', detail: (err as Error).message });
        throw err;
      }
    }
    case 'rtp': {
      const leg = new RtpLeg({ ...legOpts, format: cfg.format, sourceCheck: cfg.rtpSourceCheck, rejected: deps.rtpRejected });
      const wanted = deps.rtpPorts.take();
      let port = 0;
      try {
        port = await leg.bind(wanted, cfg.mediaBindHost);
        const ch = await rest.externalMedia({
          app: cfg.app,
          channelId: mediaChannelId,
          transport: 'udp',
          encapsulation: 'rtp',
          externalHost: `${cfg.mediaHost}:${port}`,
          format: cfg.format,
        });
        const remote = await unicastRtpAddress(rest, ch);
        leg.setRemote(remote.address, remote.port);
        await withTimeout(inStasis, timeout, 'the media channel to enter Stasis');
        leg.once('close', () => deps.rtpPorts.release(wanted));
        return { leg, channelId: mediaChannelId };
      } catch (err) {
        deps.rtpPorts.release(wanted);
        await leg.close({ code: 'transport_error', detail: (err as Error).message });
        throw err;
      }
    }
  }
}

/** UNICASTRTP_LOCAL_ADDRESS/PORT: in the externalMedia reply, else read from the channel. */
async function unicastRtpAddress(rest: AriRest, ch: AriChannel): Promise<{ address: string; port: number }> {
  let address = ch.channelvars?.UNICASTRTP_LOCAL_ADDRESS;
  let port = ch.channelvars?.UNICASTRTP_LOCAL_PORT;
  if (!address) address = await rest.getVariable(ch.id, 'UNICASTRTP_LOCAL_ADDRESS');
  if (!port) port = await rest.getVariable(ch.id, 'UNICASTRTP_LOCAL_PORT');
  if (!address || !port || !Number(port)) throw new Error(`UnicastRTP channel ${ch.id} did not report its local address`);
  return { address, port: Number(port) };
}

/**
 * Dial Asterisk's /media/<connection id> (served by its HTTP server, no ARI auth needed). The leg
 * is attached inside 'open': MEDIA_START can arrive in the same read as the upgrade response.
 */
function connectMediaSocket(ariUrl: string, connectionId: string, leg: ChanWebSocketLeg): Promise<void> {
  const url = new URL(`/media/${encodeURIComponent(connectionId)}`, ariUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url, 'media');
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.removeAllListeners('error');
      ws.removeAllListeners('unexpected-response');
      leg.attach(ws);
      resolve();
    });
    ws.once('error', (err) => reject(new Error(`chan_websocket connect to ${url.pathname}: ${err.message}`)));
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`chan_websocket connect to ${url.pathname}: HTTP ${res.statusCode}`));
    });
  });
}
