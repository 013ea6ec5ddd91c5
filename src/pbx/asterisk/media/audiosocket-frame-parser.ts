/** AudioSocket message kinds (`[kind:1][length:2 BE][payload]`). */
export const AudioSocketKind = {
  Hangup: 0x00,
  Uuid: 0x01,
  Dtmf: 0x03,
  Slin8k: 0x10,
  Slin12k: 0x11,
  Slin16k: 0x12,
  Slin24k: 0x13,
  Slin32k: 0x14,
  Slin44k: 0x15,
  Slin48k: 0x16,
  Slin96k: 0x17,
  Slin192k: 0x18,
  Error: 0xff,
} as const;

const KNOWN = new Set<number>(Object.values(AudioSocketKind));
/** 20 ms of slin at 192 kHz is 7,680 bytes; anything far beyond is not AudioSocket. */
const MAX_PAYLOAD = 16_384;

export interface AudioSocketParseCallbacks {
  message(kind: number, payload: Buffer): void;
  /** The stream is not AudioSocket (unknown kind, absurd length): the connection should go. */
  protocolError(reason: string): void;
}

/**
 * Incremental AudioSocket parser: TCP may split or merge messages anywhere, so a truncated
 * message waits for the rest. Payloads are views valid only during the callback.
 */
export class AudioSocketFrameParser {
  private buffer: Buffer = Buffer.alloc(0);
  private failed = false;

  /** Bytes held waiting for the rest of a message. */
  get pendingBytes(): number {
    return this.buffer.length;
  }

  push(chunk: Buffer, cb: AudioSocketParseCallbacks): void {
    if (this.failed) return;
    const data = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= 3) {
      const kind = data[at];
      const length = data.readUInt16BE(at + 1);
      if (!KNOWN.has(kind)) {
        this.failed = true;
        cb.protocolError(`unknown AudioSocket kind 0x${kind.toString(16).padStart(2, '0')}`);
        return;
      }
      if (length > MAX_PAYLOAD) {
        this.failed = true;
        cb.protocolError(`AudioSocket payload of ${length} bytes`);
        return;
      }
      if (data.length - at < 3 + length) break;
      cb.message(kind, data.subarray(at + 3, at + 3 + length));
      at += 3 + length;
    }
    this.buffer = at >= data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(at));
  }
}

/** Write `[kind][length][payload]` into `out` (which must hold 3 + payload bytes); returns the view. */
export function encodeAudioSocketMessage(kind: number, payload: Uint8Array, out?: Buffer): Buffer {
  const buf = out && out.length >= 3 + payload.length ? out.subarray(0, 3 + payload.length) : Buffer.allocUnsafe(3 + payload.length);
  buf[0] = kind;
  buf.writeUInt16BE(payload.length, 1);
  buf.set(payload, 3);
  return buf;
}

/** The UUID Asterisk sends in kind 0x01 as 16 raw bytes, in canonical text form. */
export function uuidFromBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
