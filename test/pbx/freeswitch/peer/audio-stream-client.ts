import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Socket, connect } from 'node:net';

/** The `data` of a `streamAudio` message, as mod_audio_stream reads it. */
export interface StreamAudioData {
  audioDataType: string;
  sampleRate: number;
  audioData: string;
  [key: string]: unknown;
}

export interface AudioStreamClientEvents {
  /** WebSocket open (mod_audio_stream fires `::connect` then). */
  connected: [];
  /** TCP connect failed (mod_audio_stream fires `::error`). */
  refused: [err: Error];
  /** A text frame from the server. */
  text: [text: string];
  /** The server started a close handshake (mod_audio_stream fires `::disconnect`). */
  serverClose: [code: number, reason: string];
  /** TCP is gone. */
  closed: [];
}

export interface AudioStreamClientOptions {
  url: string;
  /** 8000 -> 320-byte frames, 16000 -> 640-byte frames, one every 20 ms. */
  sampleRate: 8000 | 16000;
  /** Sent as the first text frame, unless `dropMetadata` (the race seen in capture b2 step 4). */
  metadata: string | undefined;
  dropMetadata?: boolean;
  /** Deliver frames in pairs every 40 ms some of the time, as seen under CPU load. */
  bursty?: boolean;
  /**
   * mod_audio_fork (libwebsockets), from its source, not a capture: offers this subprotocol and
   * fails the connect unless the 101 names it back.
   */
  subprotocol?: string;
  /**
   * mod_audio_fork, from its source: each write sends the whole buffer filled since the last one,
   * so frames that fall due together leave as one binary message.
   */
  oneMessagePerWrite?: boolean;
}

/** PCMA silence decoded to L16, as mod_audio_stream sends before the caller says anything. */
const PCMA_SILENCE_SAMPLE = 0x0008;
/** 2 s of 20 ms frames: mod_audio_fork's default MOD_AUDIO_FORK_BUFFER_SECS. */
const FORK_BUFFER_FRAMES = 100;

/**
 * mod_audio_stream's WebSocket client (libwsc), byte for byte where it matters: the upgrade request
 * with no space after the colons and no extensions offer, masked FIN frames, metadata first, then
 * one L16 frame per 20 ms; it echoes a server close and leaves TCP to the server.
 */
export class AudioStreamClient extends EventEmitter<AudioStreamClientEvents> {
  private socket: Socket | undefined;
  private readonly frameBytes: number;
  private readonly queue: Int16Array[] = [];
  private queueOffset = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  /**
   * The caller's phone suppresses silence: with no caller audio queued, no frame at all goes out (capture k:
   * mod_audio_stream sends one frame per RTP packet received, nothing while none arrive).
   */
  suppressSilence = false;
  private open = false;
  private closeSent = false;
  private inbound = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private startedAt = 0;
  private framesSent = 0;
  private tcpClosed = false;
  readonly sentFrames: number[] = [];
  /** Every text frame the server sent, in order. */
  readonly textsReceived: string[] = [];

  constructor(private readonly options: AudioStreamClientOptions) {
    super();
    this.frameBytes = (options.sampleRate / 50) * 2;
  }

  get sampleRate(): 8000 | 16000 {
    return this.options.sampleRate;
  }

  get isOpen(): boolean {
    return this.open;
  }

  get isTcpClosed(): boolean {
    return this.tcpClosed;
  }

  get framesDelivered(): number {
    return this.framesSent;
  }

  /** Caller audio (PCM16 at the stream rate) to send after what is queued; silence fills gaps. */
  sendAudio(pcm: Int16Array): void {
    this.queue.push(pcm);
  }

  /** Caller audio sent at once as one binary message, as mod_audio_fork writes a buffer that built up. */
  sendAudioMessage(pcm: Int16Array): void {
    this.writeFrame(0x2, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  /** Milliseconds of queued caller audio not yet sent. */
  get pendingAudioMs(): number {
    let samples = -this.queueOffset;
    for (const chunk of this.queue) samples += chunk.length;
    return (samples / this.options.sampleRate) * 1000;
  }

  connect(): void {
    const url = new URL(this.options.url);
    const port = Number(url.port || 80);
    const socket = connect({ host: url.hostname, port });
    this.socket = socket;
    const key = randomBytes(16).toString('base64');
    let upgraded = false;
    socket.on('connect', () => {
      const hostPort = `${url.hostname}:${port}`;
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost:${hostPort}\r\nUpgrade:websocket\r\nConnection:upgrade\r\n` +
          `Sec-WebSocket-Key:${key}\r\nSec-WebSocket-Version:13\r\nOrigin:http://${hostPort}\r\n` +
          (this.options.subprotocol ? `Sec-WebSocket-Protocol:${this.options.subprotocol}\r\n` : '') +
          '\r\n',
      );
    });
    socket.on('data', (chunk: Buffer) => {
      this.inbound = Buffer.concat([this.inbound, chunk]);
      if (!upgraded) {
        const end = this.inbound.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.inbound.toString('latin1', 0, end);
        this.inbound = this.inbound.subarray(end + 4);
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (!/^HTTP\/1\.1 101/.test(head) || !head.includes(accept)) {
          socket.destroy();
          this.emit('refused', new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
          return;
        }
        const chosen = /\r\nSec-WebSocket-Protocol:\s*([^\r]*)/i.exec(head)?.[1]?.trim();
        if (this.options.subprotocol && chosen !== this.options.subprotocol) {
          socket.destroy();
          this.emit('refused', new Error(`server chose subprotocol ${chosen ?? '(none)'} instead of ${this.options.subprotocol}`));
          return;
        }
        upgraded = true;
        this.onOpen();
      }
      this.readFrames();
    });
    socket.on('error', (err) => {
      if (!upgraded) this.emit('refused', err);
    });
    socket.on('close', () => {
      this.tcpClosed = true;
      this.open = false;
      clearTimeout(this.timer);
      this.emit('closed');
    });
  }

  sendText(text: string): void {
    if (this.open) this.writeFrame(0x1, Buffer.from(text, 'utf8'));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Client-initiated close (API stop, hangup): close 1000 "Normal closure"; resolves when TCP is gone. */
  async close(): Promise<void> {
    if (this.tcpClosed || !this.socket) return;
    clearTimeout(this.timer);
    if (this.open && !this.closeSent) this.writeClose(1000, 'Normal closure');
    this.open = false;
    await new Promise<void>((resolve) => {
      if (this.tcpClosed) resolve();
      else this.once('closed', () => resolve());
    });
  }

  /** Forget the socket without a handshake (process crash). */
  destroy(): void {
    clearTimeout(this.timer);
    this.socket?.destroy();
  }

  private onOpen(): void {
    this.open = true;
    this.emit('connected');
    if (this.options.metadata !== undefined && !this.options.dropMetadata) this.sendText(this.options.metadata);
    this.startedAt = performance.now();
    // The first binary frame came ~44 ms after the metadata in capture b.
    this.timer = setTimeout(() => this.tick(), 40);
  }

  private tick(): void {
    if (!this.open) return;
    const due = Math.floor((performance.now() - this.startedAt - 40) / 20) + 1;
    // Bursty delivery: sometimes hold a frame back and send it with the next one.
    const holdBack = this.options.bursty && due - this.framesSent === 1 && Math.random() < 0.15 ? 1 : 0;
    const batch: Buffer[] = [];
    while (this.framesSent < due - holdBack) {
      if (!this.paused && !(this.suppressSilence && this.queue.length === 0)) {
        if (this.options.oneMessagePerWrite) batch.push(this.nextAudioFrame());
        else this.writeFrame(0x2, this.nextAudioFrame());
      }
      this.framesSent++;
      // mod_audio_fork's buffer holds MOD_AUDIO_FORK_BUFFER_SECS (default 2 s): one write never carries more. A
      // real FreeSWITCH writes on its own clock; only this process being late on a busy machine builds up more.
      if (batch.length === FORK_BUFFER_FRAMES) this.writeFrame(0x2, Buffer.concat(batch.splice(0)));
    }
    if (batch.length > 0) this.writeFrame(0x2, Buffer.concat(batch));
    const next = this.startedAt + 40 + this.framesSent * 20;
    this.timer = setTimeout(() => this.tick(), Math.max(1, next - performance.now()));
  }

  private nextAudioFrame(): Buffer {
    const frame = Buffer.allocUnsafe(this.frameBytes);
    const samples = this.frameBytes / 2;
    for (let i = 0; i < samples; i++) {
      let value = PCMA_SILENCE_SAMPLE;
      const chunk = this.queue[0];
      if (chunk) {
        value = chunk[this.queueOffset++];
        if (this.queueOffset >= chunk.length) {
          this.queue.shift();
          this.queueOffset = 0;
        }
      }
      frame.writeInt16LE(value, i * 2);
    }
    this.sentFrames.push(performance.now());
    return frame;
  }

  private readFrames(): void {
    for (;;) {
      const buf = this.inbound;
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      let length = buf[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) return;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) return;
        length = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      if ((buf[1] & 0x80) !== 0) throw new Error('server frames must not be masked');
      if (buf.length < offset + length) return;
      const payload = Buffer.from(buf.subarray(offset, offset + length));
      this.inbound = buf.subarray(offset + length);
      this.onFrame(fin, opcode, payload);
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === 0x8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const reason = payload.toString('utf8', 2);
      if (!this.closeSent) {
        // Server-initiated: echo it (with its reason, as FS did) and wait for the server's FIN.
        this.writeClose(code, reason);
        this.open = false;
        clearTimeout(this.timer);
        this.emit('serverClose', code, reason);
      }
      return;
    }
    if (opcode === 0x9) {
      this.writeFrame(0xa, payload);
      return;
    }
    if (opcode === 0x0) {
      this.fragments.push(payload);
      if (!fin) return;
      payload = Buffer.concat(this.fragments);
      this.fragments = [];
      opcode = this.fragmentOpcode;
    } else if (!fin) {
      this.fragmentOpcode = opcode;
      this.fragments = [payload];
      return;
    }
    if (opcode === 0x1) {
      const text = payload.toString('utf8');
      this.textsReceived.push(text);
      this.emit('text', text);
    }
  }

  private writeClose(code: number, reason: string): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.closeSent = true;
    this.writeFrame(0x8, payload);
  }

  private writeFrame(opcode: number, payload: Buffer): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    const mask = randomBytes(4);
    const length = payload.length;
    const header = length < 126 ? Buffer.alloc(6) : length < 65536 ? Buffer.alloc(8) : Buffer.alloc(14);
    header[0] = 0x80 | opcode;
    if (length < 126) {
      header[1] = 0x80 | length;
      mask.copy(header, 2);
    } else if (length < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(length, 2);
      mask.copy(header, 4);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(length), 2);
      mask.copy(header, 10);
    }
    const masked = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3];
    socket.write(Buffer.concat([header, masked]));
  }
}
