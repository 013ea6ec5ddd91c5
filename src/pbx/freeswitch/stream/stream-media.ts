import { MEDIA_TOKEN_PARAM, type MediaTokenIssuer } from '../../../core/index.ts';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AudioLeg, CallerClockOptions, SampleRate, WebSocketRoute } from '../../../media/index.ts';
import type { EslEvent } from '../esl/esl-message.ts';
import type { CallMediaOpener, FreeswitchCall } from '../freeswitch-call.ts';
import { EventClock, type PlayoutCalibration } from './playout.ts';
import { StreamLeg } from './stream-leg.ts';
import type { StreamWireFormat } from './stream-wire.ts';

export interface StreamMediaOptions {
  /** Which module FS streams with. */
  wire: StreamWireFormat;
  /** ws:// URL FreeSWITCH dials; the call's uuid is appended as the last path segment. */
  mediaUrl: string;
  sampleRate: SampleRate;
  firstChunkMs: number;
  chunkMs: number;
  /** See StreamLegOptions.skipLeadIn. */
  skipLeadIn?: boolean;
  maxQueuedMs?: number;
  /** Silence fill and dead-media timeout (media.callerGapMs / media.deadMediaMs). */
  clock?: CallerClockOptions;
  /** From `start` to the first caller frame. */
  connectTimeoutMs?: number;
  log: Logger;
  /** Per-call secret added to the URL FreeSWITCH dials (`?callpilot_token=`), checked by the HTTP server. */
  mediaToken?: MediaTokenIssuer;
}

interface Waiter {
  call: FreeswitchCall;
  resolve: (leg: StreamLeg) => void;
}

/**
 * Opens stream legs: `uuid_audio_stream|uuid_audio_fork <uuid> start <url>/<uuid> mono 16k <meta>`
 * (both modules take the same arguments) and the matching WebSocket on callpilot's HTTP server.
 * The call is identified by the URL, because mod_audio_stream's metadata text frame is not
 * guaranteed (FS skips it when the connect wins a race with the media bug).
 */
export class StreamMedia implements CallMediaOpener {
  private readonly waiting = new Map<string, Waiter>();
  /** Calls whose media bug may still be attached: the next start must be preceded by a stop. */
  private readonly started = new Set<string>();
  readonly routePath: string;
  /** What this FreeSWITCH does with playlist lead-ins, learned by every leg for all of them. */
  readonly calibration: PlayoutCalibration;

  private readonly wire: StreamWireFormat;
  /** One FreeSWITCH, one clock: every call's events teach it the offset between its stamps and our clock. */
  private readonly eventClock = new EventClock();

  constructor(private readonly options: StreamMediaOptions) {
    this.wire = options.wire;
    this.calibration = { leadInMs: options.skipLeadIn === false ? 250 : 0 };
    this.routePath = new URL(options.mediaUrl).pathname.replace(/\/+$/, '');
  }

  route(): WebSocketRoute {
    const protocols = this.wire.protocols ? [...this.wire.protocols] : undefined;
    return { path: this.routePath, protocols, roles: ['pbx'], maxPayload: this.wire.maxMessageBytes, handle: (ws, req) => this.accept(ws, req) };
  }

  async open(call: FreeswitchCall): Promise<AudioLeg> {
    const uuid = call.uuid;
    if (this.started.has(uuid)) {
      // A bug left attached (after a server-side close, or mod_audio_fork's failed connect) makes
      // `start` fail with -ERR Operation Failed.
      await call.commands.bgapi(`${this.wire.command} ${uuid} stop`, 5000).catch(() => undefined);
    }
    const rate = this.options.sampleRate === 16000 ? '16k' : '8k';
    const metadata = JSON.stringify({ uuid });
    const legReady = new Promise<StreamLeg>((resolve) => this.waiting.set(uuid, { call, resolve }));
    let failure: ((err: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => (failure = reject));
    failed.catch(() => undefined);
    const onEvent = (event: EslEvent): void => {
      if (event.subclass !== undefined && this.wire.failureSubclasses.includes(event.subclass)) {
        failure?.(new Error(`${this.wire.module} could not reach ${this.options.mediaUrl}: ${event.body ?? ''}`));
      }
    };
    const onEnded = (): void => failure?.(new Error(`call ${uuid} ended while its media stream was opening`));
    call.channel.on('event', onEvent);
    call.channel.once('ended', onEnded);
    const timer = setTimeout(
      () => failure?.(new Error(`${this.wire.module} did not connect its WebSocket for ${uuid} within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    try {
      this.started.add(uuid);
      // `+OK Success` comes before the WebSocket connects: it proves nothing about media.
      await Promise.race([call.commands.api(`${this.wire.command} ${uuid} start ${this.urlFor(uuid)} mono ${rate} '${metadata}'`), failed]);
      const leg = await Promise.race([legReady, failed]);
      // Not waiting for caller audio: mod_audio_stream sends nothing while no RTP arrives (capture k), and a
      // caller whose phone suppresses silence may send nothing until spoken to. The WebSocket is up and bot
      // audio does not travel on it, so the greeting is heard; the caller clock runs from here.
      leg.startCallerClock();
      return leg;
    } catch (err) {
      if (call.ended) this.started.delete(uuid);
      throw err;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(uuid);
      call.channel.off('event', onEvent);
      call.channel.off('ended', onEnded);
    }
  }

  private get timeoutMs(): number {
    return this.options.connectTimeoutMs ?? 5000;
  }

  private urlFor(uuid: string): string {
    const url = `${this.options.mediaUrl.replace(/\/+$/, '')}/${uuid}`;
    return this.options.mediaToken ? `${url}?${MEDIA_TOKEN_PARAM}=${this.options.mediaToken(uuid)}` : url;
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const path = new URL(req.url ?? '/', 'ws://localhost').pathname;
    const uuid = path.slice(this.routePath.length).replace(/^\/+/, '').split('/')[0];
    const waiter = uuid ? this.waiting.get(uuid) : undefined;
    if (!waiter) {
      this.options.log.warn({ path }, `${this.wire.module} connection for no call opening media; closing it`);
      ws.close(1008, 'unknown call');
      return;
    }
    this.waiting.delete(uuid);
    const leg = new StreamLeg({
      call: waiter.call,
      wire: this.wire,
      ws,
      sampleRate: this.options.sampleRate,
      firstChunkMs: this.options.firstChunkMs,
      chunkMs: this.options.chunkMs,
      skipLeadIn: this.options.skipLeadIn,
      calibration: this.calibration,
      maxQueuedMs: this.options.maxQueuedMs,
      clock: this.options.clock,
      eventClock: this.eventClock,
      log: this.options.log,
      onClosed: () => {
        if (waiter.call.ended) this.started.delete(uuid);
      },
    });
    waiter.resolve(leg);
  }
}
