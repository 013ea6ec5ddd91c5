import type { WireCodec } from '../types.ts';
import type { FrameCodec } from './frame-codec.ts';
import { G711Codec } from './g711.ts';
import { L16Codec } from './l16.ts';

/** The codec for one wire format. Instances are stateless and cheap; the G.711 tables are shared. */
export function createCodec(codec: WireCodec): FrameCodec {
  switch (codec) {
    case 'pcmu':
    case 'pcma':
      return new G711Codec(codec);
    case 'l16le':
    case 'l16be':
      return new L16Codec(codec);
    default: {
      const unknown: never = codec;
      throw new Error(`unknown wire codec: ${String(unknown)}`);
    }
  }
}
