import type { WireCodec } from '../types.ts';

/**
 * Converts between one wire encoding and PCM16. Both directions write into a caller-supplied
 * buffer when given one, so the per-frame path allocates nothing.
 */
export interface FrameCodec {
  readonly codec: WireCodec;
  /** Bytes one sample takes on the wire. */
  readonly bytesPerSample: 1 | 2;
  /**
   * Wire bytes -> PCM16. Writes into `out` when given (it must hold `wire.length / bytesPerSample`
   * samples) and returns `out` itself when the length matches exactly, else a view of it.
   */
  decode(wire: Uint8Array, out?: Int16Array): Int16Array;
  /** PCM16 -> wire bytes. Same buffer rules as `decode`. */
  encode(pcm: Int16Array, out?: Buffer): Buffer;
}

export class CodecBufferError extends Error {
  constructor(codec: WireCodec, needed: number, got: number, unit: string) {
    super(`${codec}: output buffer holds ${got} ${unit}, ${needed} needed`);
    this.name = 'CodecBufferError';
  }
}

/** Returns a buffer of exactly `length` elements: `out` itself, a view of it, or a new one. */
export function pcmOutput(codec: WireCodec, length: number, out?: Int16Array): Int16Array {
  if (out === undefined) return new Int16Array(length);
  if (out.length === length) return out;
  if (out.length < length) throw new CodecBufferError(codec, length, out.length, 'samples');
  return out.subarray(0, length);
}

export function wireOutput(codec: WireCodec, length: number, out?: Buffer): Buffer {
  if (out === undefined) return Buffer.allocUnsafe(length);
  if (out.length === length) return out;
  if (out.length < length) throw new CodecBufferError(codec, length, out.length, 'bytes');
  return out.subarray(0, length);
}
