import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { BaseAudioLeg, createCodec, type FrameCodec, type LegCloseReason, type CallerClockOptions } from '../../../media/index.ts';
import { wireSpec, type AsteriskMediaFormat } from './asterisk-format.ts';
import { parseRtpHeader, RtpPacketizer } from './rtp-packet.ts';
import { RtpReorderBuffer } from './rtp-reorder-buffer.ts';

export interface RtpLegOptions {
  callId: string;
  format: AsteriskMediaFormat;
  log?: Logger;
  maxQueuedMs?: number;
  clock?: CallerClockOptions;
  /** Packets a late one may be waited for (each 20 ms of added delay). */
  reorderDepth?: number;
  /**
   * exact (default): only packets from the address and port given to setRemote are heard; latch: the first
   * packet's source becomes the peer (Asterisk behind NAT). pbx.asterisk.rtpSourceCheck.
   */
  sourceCheck?: 'exact' | 'latch';
  /** Called for each packet dropped because it came from elsewhere (counted in callpilot_media_rejected_total). */
  rejected?: () => void;
}

/** Asterisk's payload types for the formats callpilot asks for (slin16 is dynamic 118 in Asterisk). */
const PAYLOAD_TYPE: Record<AsteriskMediaFormat, number> = { ulaw: 0, alaw: 8, slin16: 118 };
const SEND_RING = 64;

/**
 * An AudioLeg over UnicastRTP (externalMedia encapsulation=rtp, transport=udp). We listen on our
 * own UDP port (external_host) and send to UNICASTRTP_LOCAL_ADDRESS:PORT. Asterisk sends from that
 * same address and port (capture external-media-rtp), so by default only packets from there are
 * heard: anyone else who reaches the port is dropped and counted, never mixed into the call. With
 * sourceCheck latch, the first packet's source becomes the peer instead (symmetric RTP through NAT). Reordering, loss and
 * duplicates are absorbed by a small reorder buffer; a lost packet becomes 20 ms of silence so
 * the caller-frame clock keeps running.
 */
export class RtpLeg extends BaseAudioLeg {
  readonly socket = dgram.createSocket('udp4');
  private readonly codec: FrameCodec;
  private readonly frameBytes: number;
  private readonly payloadType: number;
  private readonly packetizer: RtpPacketizer;
  private readonly reorder: RtpReorderBuffer;
  private readonly pcmIn: Int16Array;
  private readonly silence: Int16Array;
  private readonly sendRing: Buffer[];
  private ringIndex = 0;
  private remote: { address: string; port: number } | undefined;
  private latched = false;
  private readonly sourceCheck: 'exact' | 'latch';
  private readonly rejected: () => void;
  /** Packets dropped because they came from anywhere but the call's peer. */
  rejectedPackets = 0;
  private remoteSsrc: number | undefined;
  private warnedPayload = false;
  private readonly emitPayload = (payload: Uint8Array | undefined): void => this.onPayload(payload);

  constructor(opts: RtpLegOptions) {
    const spec = wireSpec(opts.format, 'be');
    super({ callId: opts.callId, sampleRate: spec.sampleRate, log: opts.log, maxQueuedMs: opts.maxQueuedMs, clock: opts.clock });
    this.codec = createCodec(spec.codec);
    this.frameBytes = spec.frameBytes;
    this.payloadType = PAYLOAD_TYPE[opts.format];
    this.packetizer = new RtpPacketizer(this.payloadType, randomInt(1, 0x7fffffff), randomInt(0, 0xffff), randomInt(0, 0x7fffffff));
    this.reorder = new RtpReorderBuffer(opts.reorderDepth ?? 3, spec.frameBytes);
    this.pcmIn = new Int16Array(this.frameSamples);
    this.silence = new Int16Array(this.frameSamples);
    this.sendRing = Array.from({ length: SEND_RING }, () => Buffer.alloc(12 + spec.frameBytes));
    this.sourceCheck = opts.sourceCheck ?? 'exact';
    this.rejected = opts.rejected ?? (() => undefined);
    this.socket.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    this.socket.on('error', (err) => this.deliverWarning(new Error(`RTP socket: ${err.message}`)));
  }

  /** Receive/reorder counters, for tests and metrics. */
  get receiveStats(): { duplicates: number; late: number; lost: number } {
    return { duplicates: this.reorder.duplicates, late: this.reorder.late, lost: this.reorder.lost };
  }

  async bind(port: number, host = '0.0.0.0'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(port, host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    return this.socket.address().port;
  }

  /** Where Asterisk listens (UNICASTRTP_LOCAL_ADDRESS/PORT); replaced by the source of its packets. */
  setRemote(address: string, port: number): void {
    if (!this.latched) this.remote = { address, port };
  }

  /** DTMF learned out of band (ARI ChannelDtmfReceived): UnicastRTP does not carry it to us. */
  injectDtmf(digit: string): void {
    this.deliverDtmf(digit);
  }


  protected writeFrame(pcm: Int16Array): void {
    const remote = this.remote;
    if (!remote) return;
    const packet = this.sendRing[this.ringIndex];
    this.ringIndex = (this.ringIndex + 1) % SEND_RING;
    this.packetizer.writeHeader(packet, pcm.length);
    this.codec.encode(pcm, packet.subarray(12, 12 + this.frameBytes));
    this.socket.send(packet, remote.port, remote.address);
  }

  /** RTP has no far-end queue: stopping our own pacer is the whole flush. */
  protected flushWire(): void {}

  protected async closeWire(_reason: LegCloseReason): Promise<void> {
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** exact: the peer setRemote named, and nobody before it is known; latch: whoever sent the first packet. */
  private fromPeer(rinfo: dgram.RemoteInfo): boolean {
    const remote = this.remote;
    if (this.sourceCheck === 'latch' && !this.latched) return true;
    return remote !== undefined && rinfo.address === remote.address && rinfo.port === remote.port;
  }

  private onPacket(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!this.fromPeer(rinfo)) {
      this.rejectedPackets++;
      this.rejected();
      this.deliverWarning(new Error(`RTP from ${rinfo.address}:${rinfo.port}, not the call's peer: dropped`));
      return;
    }
    const parsed = parseRtpHeader(msg);
    if (!parsed.ok) {
      this.deliverWarning(new Error(`RTP: ${parsed.error} from ${rinfo.address}:${rinfo.port}`));
      return;
    }
    const h = parsed.header;
    if (h.payloadType >= 72 && h.payloadType <= 76) return; // RTCP sent to the RTP port
    if (h.payloadType !== this.payloadType) {
      if (!this.warnedPayload) this.deliverWarning(new Error(`RTP: payload type ${h.payloadType}, expected ${this.payloadType}`));
      this.warnedPayload = true;
      return;
    }
    if (!this.latched) {
      this.latched = true;
      if (this.sourceCheck === 'latch') this.remote = { address: rinfo.address, port: rinfo.port };
    }
    if (this.remoteSsrc !== undefined && h.ssrc !== this.remoteSsrc) this.log.debug({ ssrc: h.ssrc }, 'RTP SSRC changed');
    this.remoteSsrc = h.ssrc;
    this.reorder.push(h.sequence, msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength), this.emitPayload);
  }

  private onPayload(payload: Uint8Array | undefined): void {
    if (payload === undefined) {
      this.deliverFrame(this.silence);
      return;
    }
    if (payload.length !== this.frameBytes) {
      if (!this.warnedPayload) this.deliverWarning(new Error(`RTP: ${payload.length}-byte payload, expected ${this.frameBytes}`));
      this.warnedPayload = true;
      return;
    }
    this.deliverFrame(this.codec.decode(payload, this.pcmIn));
  }
}
