import { EventEmitter } from 'node:events';
import { WebSocket, type RawData } from 'ws';
import { createCodec } from '../codec/create-codec.ts';
import type { FrameCodec } from '../codec/frame-codec.ts';
import { FRAME_MS, type SampleRate, samplesPerFrame } from '../types.ts';
import { MEDIA_SUBPROTOCOL, type MediaStartMessage, type MediaNotice, wireCodecOf } from './protocol.ts';

/** What `connect` sends as `start` (the `event` field is added for you). */
export type MediaStartRequest = Omit<MediaStartMessage, 'event'>;

export interface MediaClientEvents {
  /**
   * One bot frame, decoded to PCM16, with its arrival time (performance.now()).
   * The array is reused for the next frame: copy it to keep it.
   */
  botFrame: [pcm: Int16Array, arrivalMs: number];
  /** The server flushed bot audio (barge-in): drop anything buffered for playout. */
  clear: [];
  mark: [name: string];
  /** transcript / bot / other console notifications. */
  notice: [notice: MediaNotice];
  /** The server rejected something we sent; the call goes on unless the socket closes. */
  serverError: [message: string];
  end: [reason: string, detail: string | undefined];
  close: [code: number, reason: string];
}

export interface StreamPcmOptions {
  /** Send one frame every 20 ms like a phone would; otherwise send everything at once. */
  realtime: boolean;
}

/**
 * A client for callpilot's /media WebSocket: the simulator, the latency bench and tests use it
 * to act as a caller.
 */
export class MediaWebSocketClient extends EventEmitter<MediaClientEvents> {
  private ws: WebSocket | undefined;
  private codec: FrameCodec | undefined;
  private sampleRate: SampleRate = 8000;
  private frameSamples = 160;
  private incoming = new Int16Array(0);
  private outgoing = Buffer.alloc(0);
  private padded = new Int16Array(0);
  private id: string | undefined;

  get callId(): string | undefined {
    return this.id;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Open the socket, send `start` and resolve with the call id once the server says `started`. `token`: an API
   * token (admin, operator or pbx) sent as `Authorization: Bearer`; callpilot refuses the upgrade without one.
   */
  connect(url: string, start: MediaStartRequest, opts: { token?: string } = {}): Promise<string> {
    if (this.ws) return Promise.reject(new Error('MediaWebSocketClient.connect called twice'));
    this.sampleRate = start.sampleRate;
    this.frameSamples = samplesPerFrame(start.sampleRate);
    this.codec = createCodec(wireCodecOf(start.codec));
    this.incoming = new Int16Array(this.frameSamples);
    this.padded = new Int16Array(this.frameSamples);
    const ws = new WebSocket(url, MEDIA_SUBPROTOCOL, opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : {});
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      ws.on('open', () => ws.send(JSON.stringify({ event: 'start', ...start })));
      ws.on('error', (err: Error) => fail(new Error(`media socket ${url}: ${err.message}`, { cause: err })));
      ws.on('close', (code: number, reason: Buffer) => {
        fail(new Error(`media socket closed before start: ${code} ${reason.toString()}`));
        this.emit('close', code, reason.toString());
      });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) {
          this.receiveAudio(data as Buffer);
          return;
        }
        let message: MediaNotice;
        try {
          message = JSON.parse(data.toString()) as MediaNotice;
        } catch {
          this.emit('serverError', 'server sent a text message that is not JSON');
          return;
        }
        if (message.event === 'started' && !settled) {
          settled = true;
          this.id = String(message.callId);
          resolve(this.id);
          return;
        }
        this.receiveControl(message);
      });
    });
  }

  /** Send caller audio: PCM16 at the start rate, a whole number of 20 ms frames. */
  sendFrame(pcm: Int16Array): void {
    const ws = this.openSocket();
    const codec = this.codec as FrameCodec;
    const bytes = pcm.length * codec.bytesPerSample;
    if (this.outgoing.length < bytes) this.outgoing = Buffer.alloc(bytes);
    // ws masks (and therefore copies) client frames, so the buffer can be reused right away.
    ws.send(codec.encode(pcm, this.outgoing.subarray(0, bytes)), { binary: true });
  }

  /** Send a stretch of caller audio as 20 ms frames, the last one padded with silence. */
  async streamPcm(pcm: Int16Array, opts: StreamPcmOptions): Promise<void> {
    const n = this.frameSamples;
    const frames = Math.ceil(pcm.length / n);
    const started = performance.now();
    for (let i = 0; i < frames; i++) {
      if (!this.connected) return;
      if (opts.realtime && i > 0) {
        // Absolute schedule, so timer jitter does not accumulate into drift.
        const wait = started + i * FRAME_MS - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (!this.connected) return;
      }
      const from = i * n;
      if (from + n <= pcm.length) {
        this.sendFrame(pcm.subarray(from, from + n));
      } else {
        this.padded.fill(0);
        this.padded.set(pcm.subarray(from));
        this.sendFrame(this.padded);
      }
    }
  }

  sendDtmf(digit: string): void {
    this.openSocket().send(JSON.stringify({ event: 'dtmf', digit }));
  }

  /** Hang up like a caller: the server ends the call and closes the socket. */
  hangup(): void {
    this.openSocket().send(JSON.stringify({ event: 'hangup' }));
  }

  /** Close the socket (1000) and wait for it to be closed. */
  close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState !== WebSocket.CLOSING) ws.close(1000, 'client done');
    });
  }

  /** Rate of the audio in both directions, from the start message. */
  get rate(): SampleRate {
    return this.sampleRate;
  }

  private openSocket(): WebSocket {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('media socket is not open');
    return this.ws;
  }

  private receiveAudio(message: Buffer): void {
    const arrival = performance.now();
    const codec = this.codec as FrameCodec;
    const samples = message.length / codec.bytesPerSample;
    if (this.incoming.length !== samples) this.incoming = new Int16Array(samples);
    this.emit('botFrame', codec.decode(message, this.incoming), arrival);
  }

  private receiveControl(message: MediaNotice): void {
    switch (message.event) {
      case 'clear':
        this.emit('clear');
        return;
      case 'mark':
        this.emit('mark', String(message.name));
        return;
      case 'error':
        this.emit('serverError', String(message.message));
        return;
      case 'end':
        this.emit('end', String(message.reason), message.detail === undefined ? undefined : String(message.detail));
        return;
      default:
        this.emit('notice', message);
    }
  }
}
