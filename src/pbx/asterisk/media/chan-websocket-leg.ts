import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { BaseAudioLeg, createCodec, FrameAssembler, type FrameCodec, type LegCloseReason, type CallerClockOptions } from '../../../media/index.ts';
import { wireSpec, type AsteriskMediaFormat } from './asterisk-format.ts';
import { formatCommand, parseControlMessage, type ChanWebSocketEvent } from './chan-websocket-control.ts';

/** chan_websocket drops the connection (1009) on anything above 65,535 bytes; stay under it. */
export const MAX_MESSAGE_BYTES = 65_500;
/** Longer text frames are ignored by Asterisk (only a WARNING in its log). */
const MAX_TEXT_BYTES = 128;
/** While Asterisk says XOFF, keep up to this much bot audio here instead of dropping it. */
const XOFF_BACKLOG_FRAMES = 250;
/** Enough distinct send buffers that one is never rewritten while the socket still holds it. */
const SEND_RING = 64;

export interface ChanWebSocketLegOptions {
  callId: string;
  format: AsteriskMediaFormat;
  log?: Logger;
  maxQueuedMs?: number;
  clock?: CallerClockOptions;
}

export interface MediaStartInfo {
  connectionId: string;
  channelId: string;
  format: string;
  optimalFrameSize: number;
}

/**
 * An AudioLeg over one chan_websocket connection, in either connection direction. Caller audio
 * arrives as binary frames; bot audio leaves paced, one `optimal_frame_size` frame per 20 ms.
 * Marks travel to Asterisk as MARK_MEDIA so `mark` fires only when Asterisk has played up to
 * them; barge-in sends FLUSH_MEDIA, which also drops Asterisk's queued marks.
 */
export class ChanWebSocketLeg extends BaseAudioLeg {
  private ws: WebSocket | undefined;
  private readonly codec: FrameCodec;
  private readonly frameBytes: number;
  private assembler: FrameAssembler;
  private readonly pcmIn: Int16Array;
  private readonly sendRing: Buffer[];
  private ringIndex = 0;
  private json = false;
  private xoff = false;
  private readonly backlog: Buffer[] = [];
  private backlogDropped = 0;
  /** Marks sent to Asterisk and not yet confirmed. */
  private readonly marksInFlight = new Set<string>();
  private started: MediaStartInfo | undefined;
  private startWaiters: Array<(info: MediaStartInfo) => void> = [];

  constructor(opts: ChanWebSocketLegOptions) {
    const spec = wireSpec(opts.format, 'le');
    super({ callId: opts.callId, sampleRate: spec.sampleRate, log: opts.log, maxQueuedMs: opts.maxQueuedMs, clock: opts.clock });
    this.codec = createCodec(spec.codec);
    this.frameBytes = spec.frameBytes;
    this.assembler = new FrameAssembler(spec.frameBytes);
    this.pcmIn = new Int16Array(this.frameSamples);
    this.sendRing = Array.from({ length: SEND_RING }, () => Buffer.alloc(spec.frameBytes));
  }

  get mediaStart(): MediaStartInfo | undefined {
    return this.started;
  }

  /**
   * Attach the socket (we dialled Asterisk, or Asterisk dialled our /media route). `firstText`
   * is a control message already read while finding the call (client mode without our URL param).
   */
  attach(ws: WebSocket, firstText?: string): void {
    if (this.ws) throw new Error(`${this.callId}: chan_websocket leg already has a socket`);
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.onAudio(data as Buffer);
      else this.onControl((data as Buffer).toString('utf8'));
    });
    ws.on('close', (code, reason) => {
      const detail = `chan_websocket closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`;
      this.wireClosed({ code: code === 1000 || code === 1001 ? 'caller_hangup' : 'transport_error', detail });
    });
    ws.on('error', (err) => this.deliverWarning(new Error(`chan_websocket: ${err.message}`)));
    if (firstText !== undefined) this.onControl(firstText);
  }

  /** Resolves on MEDIA_START (which Asterisk sends before the channel's StasisStart). */
  waitForStart(): Promise<MediaStartInfo> {
    if (this.started) return Promise.resolve(this.started);
    return new Promise((resolve) => this.startWaiters.push(resolve));
  }

  /** Resolves once caller audio has started to arrive (the channel is bridged and flowing). */

  protected writeFrame(pcm: Int16Array): void {
    const out = this.sendRing[this.ringIndex];
    this.ringIndex = (this.ringIndex + 1) % SEND_RING;
    this.codec.encode(pcm, out);
    if (this.xoff) {
      if (this.backlog.length < XOFF_BACKLOG_FRAMES) this.backlog.push(Buffer.from(out));
      else this.backlogDropped++;
      return;
    }
    this.sendBinary(out);
  }

  protected flushWire(): void {
    this.backlog.length = 0;
    this.marksInFlight.clear();
    this.sendText(formatCommand(this.json, 'FLUSH_MEDIA'));
  }

  protected override markReached(name: string): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      super.markReached(name);
      return;
    }
    if (!this.sendText(formatCommand(this.json, 'MARK_MEDIA', name))) {
      // Asterisk would ignore it; report the mark as reached locally rather than never.
      super.markReached(name);
      return;
    }
    this.marksInFlight.add(name);
  }

  protected async closeWire(reason: LegCloseReason): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, reason.code);
    });
  }

  private onAudio(data: Buffer): void {
    if (!this.started) {
      this.deliverWarning(new Error(`chan_websocket: ${data.length} bytes of audio before MEDIA_START`));
    }
    this.assembler.push(data, (frame) => {
      this.deliverFrame(this.codec.decode(frame, this.pcmIn));
    });
  }

  private onControl(text: string): void {
    const parsed = parseControlMessage(text);
    if (!parsed.ok) {
      this.deliverWarning(new Error(`chan_websocket: ${parsed.error}`));
      return;
    }
    this.handle(parsed.message, text.trimStart().startsWith('{'));
  }

  private handle(msg: ChanWebSocketEvent, isJson: boolean): void {
    switch (msg.event) {
      case 'MEDIA_START': {
        // Answer in the format Asterisk talks in (per call transport_data f(json) or global setting).
        this.json = isJson;
        const size = Number(msg.fields.optimal_frame_size);
        if (Number.isFinite(size) && size > 0 && size !== this.frameBytes) {
          this.deliverWarning(new Error(`chan_websocket: optimal_frame_size ${size}, expected ${this.frameBytes}; re-framing`));
        }
        this.started = {
          connectionId: msg.fields.connection_id ?? '',
          channelId: msg.fields.channel_id ?? '',
          format: msg.fields.format ?? '',
          optimalFrameSize: Number.isFinite(size) && size > 0 ? size : this.frameBytes,
        };
        for (const wake of this.startWaiters.splice(0)) wake(this.started);
        return;
      }
      case 'MEDIA_XOFF':
        this.xoff = true;
        this.log.debug('chan_websocket XOFF');
        return;
      case 'MEDIA_XON': {
        this.xoff = false;
        const held = this.backlog.splice(0);
        for (const frame of held) this.sendBinary(frame);
        if (this.backlogDropped > 0) {
          this.deliverWarning(new Error(`chan_websocket: dropped ${this.backlogDropped} bot frames while Asterisk said XOFF`));
          this.backlogDropped = 0;
        }
        return;
      }
      case 'MEDIA_MARK_PROCESSED': {
        const name = msg.argument ?? msg.fields.correlation_id ?? '';
        if (this.marksInFlight.delete(name)) this.emit('mark', name);
        return;
      }
      case 'DTMF_END': {
        const digit = msg.fields.digit ?? '';
        if (/^[0-9A-D*#]$/.test(digit)) this.deliverDtmf(digit);
        else this.deliverWarning(new Error(`chan_websocket: DTMF_END with digit '${digit}'`));
        return;
      }
      case 'ERROR':
        this.deliverWarning(new Error(`chan_websocket ERROR: ${(msg.fields.error_text ?? '').trim()}`));
        return;
      case 'STATUS':
      case 'QUEUE_DRAINED':
      case 'MEDIA_BUFFERING_COMPLETED':
      case 'DTMF_START':
        return;
      default:
        this.deliverWarning(new Error(`chan_websocket: unknown event ${msg.event}`));
    }
  }

  private sendBinary(frame: Buffer): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    for (let at = 0; at < frame.length; at += MAX_MESSAGE_BYTES) {
      ws.send(at === 0 && frame.length <= MAX_MESSAGE_BYTES ? frame : frame.subarray(at, at + MAX_MESSAGE_BYTES), { binary: true });
    }
  }

  private sendText(text: string): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    if (Buffer.byteLength(text) > MAX_TEXT_BYTES) {
      this.deliverWarning(new Error(`chan_websocket: not sending a ${Buffer.byteLength(text)}-byte command (limit ${MAX_TEXT_BYTES})`));
      return false;
    }
    ws.send(text);
    return true;
  }

}
