import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { createCodec } from '../codec/create-codec.ts';
import type { FrameCodec } from '../codec/frame-codec.ts';
import { BaseAudioLeg } from '../leg/base-audio-leg.ts';
import type { LegCloseReason } from '../types.ts';
import {
  CLOSE_NORMAL,
  CLOSE_POLICY_VIOLATION,
  MAX_CONTROL_BYTES,
  MAX_MEDIA_MESSAGE_BYTES,
  MAX_PROTOCOL_ERRORS,
  type MediaNotice,
  type MediaServerMessage,
  type MediaStart,
  closeReason,
  describeIssues,
  mediaClientControlSchema,
  wireCodecOf,
} from './protocol.ts';

export interface MediaWebSocketLegOptions {
  log?: Logger;
  maxQueuedMs?: number;
  /** How long close() waits for the client's closing handshake before dropping the socket. */
  closeTimeoutMs?: number;
}

/**
 * Outgoing frames are encoded into a small ring of buffers: an unmasked server send hands the
 * buffer itself to the socket, so it must not be overwritten until written out. Frames are
 * dropped while more than OUTGOING_HIGH_WATER frames are unsent, which keeps the ring safe.
 */
const OUTGOING_RING = 16;
const OUTGOING_HIGH_WATER = 12;

/** One call on callpilot's /media WebSocket. Created by the route once `start` is accepted. */
export class MediaWebSocketLeg extends BaseAudioLeg {
  readonly start: MediaStart;
  private readonly ws: WebSocket;
  private readonly codec: FrameCodec;
  private readonly wireFrameBytes: number;
  private readonly incoming: Int16Array;
  private readonly outgoing: Buffer[] = [];
  private nextOutgoing = 0;
  private readonly closeTimeoutMs: number;
  private hungUp = false;
  private protocolErrors = 0;

  constructor(ws: WebSocket, start: MediaStart, opts: MediaWebSocketLegOptions = {}) {
    super({ callId: start.callId, sampleRate: start.sampleRate, log: opts.log, maxQueuedMs: opts.maxQueuedMs });
    this.ws = ws;
    this.start = start;
    this.codec = createCodec(wireCodecOf(start.codec));
    this.wireFrameBytes = this.frameSamples * this.codec.bytesPerSample;
    this.incoming = new Int16Array(this.frameSamples);
    for (let i = 0; i < OUTGOING_RING; i++) this.outgoing.push(Buffer.alloc(this.wireFrameBytes));
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 2000;
    ws.on('message', (data: RawData, isBinary: boolean) => this.receive(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.socketClosed(code, reason.toString()));
    ws.on('error', (err: Error) => this.deliverWarning(new Error(`media socket error: ${err.message}`, { cause: err })));
  }

  /** Send a JSON notification to the client (transcripts and bot text for the console). */
  sendNotice(notice: MediaNotice): void {
    this.sendJson(notice);
  }

  protected writeFrame(pcm: Int16Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > OUTGOING_HIGH_WATER * this.wireFrameBytes) {
      this.stats.droppedFrames++;
      return;
    }
    const buffer = this.outgoing[this.nextOutgoing];
    this.nextOutgoing = (this.nextOutgoing + 1) % OUTGOING_RING;
    this.ws.send(this.codec.encode(pcm, buffer), { binary: true });
  }

  protected flushWire(): void {
    this.sendJson({ event: 'clear' });
  }

  protected override markReached(name: string): void {
    this.sendJson({ event: 'mark', name });
    super.markReached(name);
  }

  protected closeWire(reason: LegCloseReason): Promise<void> {
    return this.endSocket(reason);
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) this.receiveAudio(data as Buffer);
    else this.receiveControl(data.toString());
  }

  private receiveAudio(message: Buffer): void {
    const frameBytes = this.wireFrameBytes;
    if (message.length > MAX_MEDIA_MESSAGE_BYTES) {
      this.reject('oversized audio message', `binary message of ${message.length} B exceeds ${MAX_MEDIA_MESSAGE_BYTES} B`);
      return;
    }
    if (message.length === 0 || message.length % frameBytes !== 0) {
      this.reject('wrong-sized audio message', `binary message of ${message.length} B is not a multiple of the ${frameBytes} B frame`);
      return;
    }
    for (let offset = 0; offset < message.length && !this.closed; offset += frameBytes) {
      this.deliverFrame(this.codec.decode(message.subarray(offset, offset + frameBytes), this.incoming));
    }
  }

  private receiveControl(text: string): void {
    if (text.length > MAX_CONTROL_BYTES) {
      this.reject('oversized text message', `control message of ${text.length} characters exceeds ${MAX_CONTROL_BYTES}`);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.reject('text message not JSON', 'text message is not JSON');
      return;
    }
    const control = mediaClientControlSchema.safeParse(parsed);
    if (!control.success) {
      const event = (parsed as { event?: unknown } | null)?.event;
      this.reject('bad control message', `bad control message${typeof event === 'string' ? ` "${event}"` : ''}: ${describeIssues(control.error)}`);
      return;
    }
    switch (control.data.event) {
      case 'dtmf':
        this.deliverDtmf(control.data.digit);
        return;
      case 'hangup': {
        const reason: LegCloseReason = { code: 'caller_hangup', detail: 'client sent hangup' };
        this.hungUp = true;
        this.wireClosed(reason);
        void this.endSocket(reason);
        return;
      }
    }
  }

  /**
   * The client broke the protocol: warn locally (throttled) and tell the client. The call survives a few; the
   * MAX_PROTOCOL_ERRORS-th ends it. `kind` is ours (never the client's bytes): it names the fault in the close reason
   * and the stored end of the call.
   */
  private reject(kind: string, message: string): void {
    this.deliverWarning(new Error(message));
    this.sendJson({ event: 'error', message });
    if (++this.protocolErrors < MAX_PROTOCOL_ERRORS) return;
    const reason: LegCloseReason = { code: 'protocol_error', detail: `${this.protocolErrors} malformed messages from the client (last: ${kind})` };
    this.log.warn({ detail: reason.detail }, 'media client keeps breaking the protocol: ending the call');
    this.wireClosed(reason);
    void this.endSocket(reason);
  }

  private socketClosed(code: number, reason: string): void {
    if (this.closed) return;
    const clean = code === 1000 || code === 1001;
    this.wireClosed({
      code: clean ? 'caller_hangup' : 'transport_error',
      detail: `socket closed ${code}${reason ? ` ${reason}` : ''}`,
    });
  }

  private endSocket(reason: LegCloseReason): Promise<void> {
    const ws = this.ws;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, this.closeTimeoutMs);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) {
        this.sendJson({ event: 'end', reason: reason.code, ...(reason.detail ? { detail: reason.detail } : {}) });
        if (reason.code === 'protocol_error') ws.close(CLOSE_POLICY_VIOLATION, closeReason(reason.detail ?? reason.code));
        else ws.close(CLOSE_NORMAL, this.hungUp ? 'caller hung up' : reason.code);
      }
    });
  }

  private sendJson(message: MediaServerMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}
