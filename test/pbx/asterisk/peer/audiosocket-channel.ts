import net from 'node:net';
import { PeerWireFormat, type AsteriskFormat } from './wire-format.ts';

export const AUDIOSOCKET_KIND = { hangup: 0x00, uuid: 0x01, dtmf: 0x03, slin: 0x10, slin16: 0x12, error: 0xff } as const;

/**
 * Asterisk's AudioSocket channel: it dials the bot's TCP server during the externalMedia
 * request, sends the UUID (kind 0x01), then 20 ms audio frames once bridged. It never sends
 * 0x00; when the channel ends it just closes TCP (FIN).
 */
export class AudioSocketChannel {
  readonly wire: PeerWireFormat;
  private socket: net.Socket | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private closed = false;
  readonly framesIn: number[] = [];
  framesOut = 0;
  /**
   * Whether the bot's first audio frame was digital silence, i.e. sent on connect before any prompt (Asterisk sends
   * the caller nothing before the bot's first frame); undefined until a frame came.
   */
  firstBotFrameSilent: boolean | undefined;

  constructor(
    private readonly uuid: string,
    format: AsteriskFormat,
    private readonly onPeerGone: (how: 'hangup-frame' | 'closed') => void,
    private readonly onWarning: (line: string) => void,
  ) {
    this.wire = new PeerWireFormat(format);
  }

  private get audioKind(): number {
    return this.wire.format === 'slin16' ? AUDIOSOCKET_KIND.slin16 : AUDIOSOCKET_KIND.slin;
  }

  /** Resolves once TCP is up and the UUID frame is sent; rejects like Asterisk's 500 when refused. */
  connect(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', () => {});
        this.socket = socket;
        const id = Buffer.from(this.uuid.replace(/-/g, ''), 'hex');
        this.writeFrame(AUDIOSOCKET_KIND.uuid, id);
        socket.on('data', (chunk) => this.onData(chunk));
        socket.on('close', () => {
          if (this.closed) return;
          this.closed = true;
          this.onPeerGone('closed');
        });
        resolve();
      });
    });
  }

  /** One bridge tick: the caller's frame, if the caller sent one, goes to the bot. */
  tick(caller8k: Int16Array | undefined, heard: (pcm8k: Int16Array) => void): void {
    this.heard = heard;
    if (this.closed || !this.socket || !caller8k) return;
    this.writeFrame(this.audioKind, this.wire.encodeCaller(caller8k));
    this.framesOut++;
  }

  /**
   * chan_audiosocket has no playout queue: each frame read from the socket is written to the bridge at once
   * (so a bot that stops sending is silent at once, and one that sends too fast is heard too fast).
   */
  private heard: ((pcm8k: Int16Array) => void) | undefined;

  dtmf(digit: string): void {
    this.writeFrame(AUDIOSOCKET_KIND.dtmf, Buffer.from(digit, 'ascii'));
  }

  /** The Asterisk process dies (kill -9): the kernel resets the connection. */
  kill(): void {
    this.closed = true;
    this.socket?.resetAndDestroy();
  }

  /** Channel hung up on the Asterisk side: FIN, no 0x00. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.end();
  }

  private writeFrame(kind: number, payload: Buffer): void {
    if (!this.socket || this.socket.destroyed) return;
    const header = Buffer.alloc(3);
    header[0] = kind;
    header.writeUInt16BE(payload.length, 1);
    this.socket.write(Buffer.concat([header, payload]));
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 3) {
      const kind = this.pending[0];
      const length = this.pending.readUInt16BE(1);
      if (this.pending.length < 3 + length) break;
      const payload = this.pending.subarray(3, 3 + length);
      this.pending = this.pending.subarray(3 + length);
      this.framesIn.push(kind);
      if (kind === AUDIOSOCKET_KIND.hangup) {
        this.closed = true;
        this.socket?.end();
        this.onPeerGone('hangup-frame');
        return;
      }
      if (kind === AUDIOSOCKET_KIND.slin || kind === AUDIOSOCKET_KIND.slin16) {
        // Asterisk slices whatever arrives into its own frames; the bot is expected to pace.
        this.firstBotFrameSilent ??= payload.every((byte) => byte === 0);
        // Heard only once the channel is bridged with the caller (the bridge ticks have handed us the ear).
        for (let at = 0; at + this.wire.frameBytes <= payload.length; at += this.wire.frameBytes) {
          this.heard?.(this.wire.decodeForCaller(payload.subarray(at, at + this.wire.frameBytes)));
        }
      } else if (kind !== AUDIOSOCKET_KIND.dtmf) {
        this.onWarning(`AudioSocket: unexpected frame kind 0x${kind.toString(16)}`);
      }
    }
  }
}
