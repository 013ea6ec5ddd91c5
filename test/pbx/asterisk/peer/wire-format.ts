import { createCodec, createResampler, type FrameCodec, type Resampler } from '../../../../src/media/index.ts';

export type AsteriskFormat = 'ulaw' | 'alaw' | 'slin' | 'slin16';

/**
 * Converts between the caller's 8 kHz PCM and one Asterisk media format, as the channel driver
 * would (ulaw/alaw 160 B, slin 320 B, slin16 640 B per 20 ms).
 */
export class PeerWireFormat {
  readonly frameBytes: number;
  readonly rate: 8000 | 16000;
  private readonly codec: FrameCodec;
  private readonly up: Resampler | undefined;
  private readonly down: Resampler | undefined;

  constructor(
    readonly format: AsteriskFormat,
    byteOrder: 'le' | 'be' = 'le',
  ) {
    this.rate = format === 'slin16' ? 16000 : 8000;
    const l16 = byteOrder === 'le' ? 'l16le' : 'l16be';
    this.codec = createCodec(format === 'ulaw' ? 'pcmu' : format === 'alaw' ? 'pcma' : l16);
    this.frameBytes = (this.rate / 50) * this.codec.bytesPerSample;
    if (this.rate === 16000) {
      this.up = createResampler(8000, 16000);
      this.down = createResampler(16000, 8000);
    }
  }

  /** 20 ms of caller PCM (8 kHz) -> one wire frame (a fresh Buffer). */
  encodeCaller(pcm8k: Int16Array): Buffer {
    const pcm = this.up ? this.up.process(pcm8k) : pcm8k;
    return Buffer.from(this.codec.encode(pcm));
  }

  /** One wire frame from the bot -> 8 kHz PCM the caller hears. */
  decodeForCaller(wire: Uint8Array): Int16Array {
    const pcm = this.codec.decode(wire);
    return this.down ? this.down.process(pcm).slice() : pcm;
  }

  get silence(): Buffer {
    return this.encodeCaller(new Int16Array(160));
  }
}
