import type { SampleRate, WireCodec } from '../../../media/index.ts';

/** Audio formats callpilot asks Asterisk for. */
export type AsteriskMediaFormat = 'ulaw' | 'alaw' | 'slin16';

export interface WireSpec {
  codec: WireCodec;
  sampleRate: SampleRate;
  /** Bytes in one 20 ms frame. */
  frameBytes: number;
}

/**
 * Byte order differs by transport: chan_websocket and AudioSocket carry slin little-endian,
 * UnicastRTP carries it big-endian (network order), as the captures show.
 */
export function wireSpec(format: AsteriskMediaFormat, slinOrder: 'le' | 'be'): WireSpec {
  switch (format) {
    case 'ulaw':
      return { codec: 'pcmu', sampleRate: 8000, frameBytes: 160 };
    case 'alaw':
      return { codec: 'pcma', sampleRate: 8000, frameBytes: 160 };
    case 'slin16':
      return { codec: slinOrder === 'le' ? 'l16le' : 'l16be', sampleRate: 16000, frameBytes: 640 };
  }
}
