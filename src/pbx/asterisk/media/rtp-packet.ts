/** The RTP fields callpilot reads (RFC 3550). */
export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload in the packet (after CSRCs and any header extension). */
  payloadOffset: number;
  /** Payload length without padding. */
  payloadLength: number;
}

export type ParsedRtp = { ok: true; header: RtpHeader } | { ok: false; error: string };

/** Parse an RTP header without copying; the payload is `packet.subarray(offset, offset + length)`. */
export function parseRtpHeader(packet: Uint8Array): ParsedRtp {
  if (packet.length < 12) return { ok: false, error: `RTP packet of ${packet.length} bytes` };
  const b0 = packet[0];
  if (b0 >> 6 !== 2) return { ok: false, error: `RTP version ${b0 >> 6}` };
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (extension) {
    if (packet.length < offset + 4) return { ok: false, error: 'truncated RTP header extension' };
    const words = (packet[offset + 2] << 8) | packet[offset + 3];
    offset += 4 + words * 4;
  }
  let end = packet.length;
  if (padding) end -= packet[packet.length - 1];
  if (offset > end) return { ok: false, error: 'RTP header longer than the packet' };
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return {
    ok: true,
    header: {
      payloadType: packet[1] & 0x7f,
      marker: (packet[1] & 0x80) !== 0,
      sequence: view.getUint16(2),
      timestamp: view.getUint32(4),
      ssrc: view.getUint32(8),
      payloadOffset: offset,
      payloadLength: end - offset,
    },
  };
}

/** Writes RTP headers for one outgoing stream: seq +1 and timestamp +samples per packet. */
export class RtpPacketizer {
  private sequence: number;
  private timestamp: number;
  private first = true;

  constructor(
    readonly payloadType: number,
    readonly ssrc: number,
    initialSequence: number,
    initialTimestamp: number,
  ) {
    this.sequence = initialSequence & 0xffff;
    this.timestamp = initialTimestamp >>> 0;
  }

  /** Fill `out` (12 + payload bytes) with the next packet's header; the payload goes at offset 12. */
  writeHeader(out: Buffer, samples: number): void {
    out[0] = 0x80;
    // Marker on the first packet of the stream, the start of the first talkspurt.
    out[1] = (this.first ? 0x80 : 0) | this.payloadType;
    out.writeUInt16BE(this.sequence, 2);
    out.writeUInt32BE(this.timestamp, 4);
    out.writeUInt32BE(this.ssrc, 8);
    this.first = false;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + samples) >>> 0;
  }
}
