import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { PeerWireFormat, type AsteriskFormat } from './wire-format.ts';

/** Impairments the test can put on the RTP Asterisk sends, to exercise the bot's receiver. */
export interface RtpImpairment {
  /** Swap each pair of packets whose first has seq % reorderEvery === 0. */
  reorderEvery?: number;
  /** Drop packets whose seq % dropEvery === 0. */
  dropEvery?: number;
  /** Send packets whose seq % duplicateEvery === 0 twice. */
  duplicateEvery?: number;
}

/**
 * A UnicastRTP channel as captured: sent from UNICASTRTP_LOCAL_PORT, V=2, PT 0 (ulaw) or 118
 * (slin16, big-endian payload), seq +1, timestamp +samples, constant SSRC, random initial
 * seq/ts, marker never set, one packet per 20 ms; RTP received on the local port is played.
 */
export class UnicastRtpChannel {
  readonly wire: PeerWireFormat;
  readonly socket = dgram.createSocket('udp4');
  private seq = randomInt(0, 0xffff);
  private timestamp = randomInt(0, 0x7fffffff);
  private readonly ssrc = randomInt(1, 0x7fffffff);
  private held: Buffer | undefined;
  private closed = false;
  packetsIn = 0;
  packetsOut = 0;
  /** Packets the impairment dropped, and extra copies it sent. */
  dropped = 0;
  duplicated = 0;
  impairment: RtpImpairment = {};

  constructor(
    format: AsteriskFormat,
    private readonly remoteHost: string,
    private readonly remotePort: number,
  ) {
    this.wire = new PeerWireFormat(format, 'be');
    this.socket.on('message', (msg) => this.onPacket(msg));
    this.socket.on('error', () => {});
  }

  get payloadType(): number {
    return this.wire.format === 'slin16' ? 118 : this.wire.format === 'alaw' ? 8 : 0;
  }

  bind(): Promise<number> {
    return new Promise((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve(this.socket.address().port)));
  }

  /**
   * One bridge tick. Without a caller frame (silence suppression) nothing is sent, but the timestamp moves on:
   * after the gap seq continues +1 and the timestamp jumps, and Asterisk does not set the marker bit.
   */
  tick(caller8k: Int16Array | undefined, heard: (pcm8k: Int16Array) => void): void {
    if (this.closed) return;
    this.heard = heard;
    const samples = this.wire.frameBytes / (this.wire.rate === 16000 ? 2 : 1);
    if (!caller8k) {
      this.timestamp = (this.timestamp + samples) >>> 0;
      return;
    }
    this.ticks++;
    const payload = this.wire.encodeCaller(caller8k);
    const packet = Buffer.alloc(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = this.payloadType;
    packet.writeUInt16BE(this.seq, 2);
    packet.writeUInt32BE(this.timestamp >>> 0, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    payload.copy(packet, 12);
    this.emitImpaired(packet, this.seq);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + samples) >>> 0;
  }

  /** RTP from the bot is bridged to the caller as it arrives (no jitter buffer on a simple_bridge). */
  private heard: ((pcm8k: Int16Array) => void) | undefined;
  /** Caller packets sent (one per 20 ms slot in which the caller sent one; duplicates not counted). */
  ticks = 0;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private emitImpaired(packet: Buffer, seq: number): void {
    const { reorderEvery, dropEvery, duplicateEvery } = this.impairment;
    if (dropEvery && seq % dropEvery === 0) {
      this.dropped++;
      return;
    }
    if (this.held) {
      this.send(packet);
      this.send(this.held);
      this.held = undefined;
      return;
    }
    if (reorderEvery && seq % reorderEvery === 0) {
      this.held = packet;
      return;
    }
    this.send(packet);
    if (duplicateEvery && seq % duplicateEvery === 0) {
      this.duplicated++;
      this.send(packet);
    }
  }

  private send(packet: Buffer): void {
    this.packetsOut++;
    this.socket.send(packet, this.remotePort, this.remoteHost);
  }

  private onPacket(msg: Buffer): void {
    if (msg.length < 12 || msg[0] >> 6 !== 2) return;
    this.packetsIn++;
    const payload = msg.subarray(12);
    for (let at = 0; at + this.wire.frameBytes <= payload.length; at += this.wire.frameBytes) {
      this.heard?.(this.wire.decodeForCaller(payload.subarray(at, at + this.wire.frameBytes)));
    }
  }
}
