import { type FrameCodec, CodecBufferError, pcmOutput, wireOutput } from './frame-codec.ts';

/**
 * Linear 16-bit PCM. Bytes are assembled by hand rather than through an Int16Array view because
 * wire chunks (subarrays of socket buffers) are often at odd byte offsets, where views are illegal.
 */
export class L16Codec implements FrameCodec {
  readonly bytesPerSample = 2 as const;

  constructor(readonly codec: 'l16le' | 'l16be') {}

  decode(wire: Uint8Array, out?: Int16Array): Int16Array {
    if (wire.length % 2 !== 0) throw new CodecBufferError(this.codec, wire.length + 1, wire.length, 'bytes (odd length)');
    const samples = wire.length >> 1;
    const pcm = pcmOutput(this.codec, samples, out);
    if (this.codec === 'l16le') {
      for (let i = 0, b = 0; i < samples; i++, b += 2) pcm[i] = wire[b] | (wire[b + 1] << 8);
    } else {
      for (let i = 0, b = 0; i < samples; i++, b += 2) pcm[i] = (wire[b] << 8) | wire[b + 1];
    }
    return pcm;
  }

  encode(pcm: Int16Array, out?: Buffer): Buffer {
    const wire = wireOutput(this.codec, pcm.length * 2, out);
    if (this.codec === 'l16le') {
      for (let i = 0, b = 0; i < pcm.length; i++, b += 2) {
        const s = pcm[i];
        wire[b] = s & 0xff;
        wire[b + 1] = (s >> 8) & 0xff;
      }
    } else {
      for (let i = 0, b = 0; i < pcm.length; i++, b += 2) {
        const s = pcm[i];
        wire[b] = (s >> 8) & 0xff;
        wire[b + 1] = s & 0xff;
      }
    }
    return wire;
  }
}
