import * as alawmulawModule from 'alawmulaw';
import type { WireCodec } from '../types.ts';
import { type FrameCodec, pcmOutput, wireOutput } from './frame-codec.ts';

type SampleCompander = { decodeSample(sample: number): number; encodeSample(sample: number): number };
type Alawmulaw = { alaw: SampleCompander; mulaw: SampleCompander };

// alawmulaw ships a UMD bundle: native ESM sees it as a default export, CommonJS loaders (uvu -r
// tsx) as named exports. Accept both.
const alawmulaw: Alawmulaw =
  (alawmulawModule as unknown as { default?: Alawmulaw }).default ?? (alawmulawModule as unknown as Alawmulaw);

/**
 * G.711 through lookup tables built once from alawmulaw's per-sample functions: the library's
 * array functions allocate a fresh array per call, which we cannot afford per 20 ms frame.
 * 256 + 65536 bytes per law, shared by every call.
 */
class G711Tables {
  readonly decodeTable = new Int16Array(256);
  readonly encodeTable = new Uint8Array(65536);

  constructor(law: SampleCompander) {
    for (let code = 0; code < 256; code++) this.decodeTable[code] = law.decodeSample(code);
    for (let sample = -32768; sample < 32768; sample++) {
      this.encodeTable[sample & 0xffff] = law.encodeSample(sample) & 0xff;
    }
  }
}

let muLawTables: G711Tables | undefined;
let aLawTables: G711Tables | undefined;

// Built lazily so importing the media layer costs nothing for legs that never use G.711.
function tablesFor(codec: 'pcmu' | 'pcma'): G711Tables {
  if (codec === 'pcmu') return (muLawTables ??= new G711Tables(alawmulaw.mulaw));
  return (aLawTables ??= new G711Tables(alawmulaw.alaw));
}

export class G711Codec implements FrameCodec {
  readonly bytesPerSample = 1 as const;
  private readonly decodeTable: Int16Array;
  private readonly encodeTable: Uint8Array;

  constructor(readonly codec: 'pcmu' | 'pcma') {
    const tables = tablesFor(codec);
    this.decodeTable = tables.decodeTable;
    this.encodeTable = tables.encodeTable;
  }

  decode(wire: Uint8Array, out?: Int16Array): Int16Array {
    const pcm = pcmOutput(this.codec as WireCodec, wire.length, out);
    const table = this.decodeTable;
    for (let i = 0; i < wire.length; i++) pcm[i] = table[wire[i]];
    return pcm;
  }

  encode(pcm: Int16Array, out?: Buffer): Buffer {
    const wire = wireOutput(this.codec, pcm.length, out);
    const table = this.encodeTable;
    for (let i = 0; i < pcm.length; i++) wire[i] = table[pcm[i] & 0xffff];
    return wire;
  }
}
