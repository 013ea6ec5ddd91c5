import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecBufferError, createCodec } from '../../src/media/index.ts';

test('mu-law decodes ITU-T G.711 reference codes', () => {
  const codec = createCodec('pcmu');
  const pcm = codec.decode(Uint8Array.from([0xff, 0x7f, 0x00, 0x80, 0xfe, 0x7e, 0xef]));
  // 0xFF/0x7F are +0/-0, 0x00/0x80 the extremes, 0xFE/0x7E the first step, 0xEF the start of segment 1.
  assert.equal(Array.from(pcm), [0, 0, -32124, 32124, 8, -8, 132]);
  assert.is(codec.bytesPerSample, 1);
});

test('A-law decodes ITU-T G.711 reference codes', () => {
  const codec = createCodec('pcma');
  const pcm = codec.decode(Uint8Array.from([0xd5, 0x55, 0xaa, 0x2a]));
  // 0xD5/0x55 are the smallest positive/negative steps, 0xAA/0x2A the extremes.
  assert.equal(Array.from(pcm), [8, -8, 32256, -32256]);
});

test('G.711 encodes silence and extremes to the standard codes', () => {
  assert.equal(Array.from(createCodec('pcmu').encode(Int16Array.from([0, 32767, -32768]))), [0xff, 0x80, 0x00]);
  assert.equal(Array.from(createCodec('pcma').encode(Int16Array.from([0, 32767, -32768]))), [0xd5, 0xaa, 0x2a]);
});

for (const law of ['pcmu', 'pcma'] as const) {
  test(`${law} round trip stays within the companding step size`, () => {
    const codec = createCodec(law);
    const pcm = new Int16Array(65536);
    for (let i = 0; i < pcm.length; i++) pcm[i] = i - 32768;
    const back = codec.decode(codec.encode(pcm));
    for (let i = 0; i < pcm.length; i++) {
      const error = Math.abs(back[i] - pcm[i]);
      const magnitude = Math.abs(pcm[i]);
      // 8-bit log companding: 16-step (13/14-bit) resolution near zero, then about 1/16 of the
      // magnitude per step; the clipped top segment of mu-law adds a little.
      const bound = Math.max(16, magnitude / 16) + (magnitude > 32124 ? 700 : 0);
      if (error > bound) assert.unreachable(`${law} error ${error} at ${pcm[i]} exceeds ${bound}`);
    }
    // Decoded values are exact code points: a second pass reproduces them bit for bit.
    const twice = codec.decode(codec.encode(back));
    let mismatches = 0;
    for (let i = 0; i < back.length; i++) if (twice[i] !== back[i]) mismatches++;
    assert.is(mismatches, 0);
  });
}

test('L16 little and big endian are lossless and byte-ordered correctly', () => {
  const pcm = Int16Array.from([0, 1, -1, 0x1234, -32768, 32767]);
  const le = createCodec('l16le').encode(pcm);
  const be = createCodec('l16be').encode(pcm);
  assert.equal(Array.from(le.subarray(6, 8)), [0x34, 0x12]);
  assert.equal(Array.from(be.subarray(6, 8)), [0x12, 0x34]);
  assert.equal(Array.from(createCodec('l16le').decode(le)), Array.from(pcm));
  assert.equal(Array.from(createCodec('l16be').decode(be)), Array.from(pcm));
});

test('L16 decodes from odd byte offsets and rejects odd lengths', () => {
  const backing = new Uint8Array([0xaa, 0x34, 0x12, 0xff, 0xff]);
  assert.equal(Array.from(createCodec('l16le').decode(backing.subarray(1))), [0x1234, -1]);
  assert.throws(() => createCodec('l16le').decode(backing.subarray(0, 3)), (err: unknown) => err instanceof CodecBufferError);
});

test('decode and encode write into caller buffers', () => {
  const codec = createCodec('pcmu');
  const out = new Int16Array(160);
  const wire = new Uint8Array(160).fill(0x00);
  assert.is(codec.decode(wire, out), out);
  assert.is(out[159], -32124);
  const wireOut = Buffer.alloc(200);
  const encoded = codec.encode(out, wireOut);
  assert.is(encoded.length, 160);
  assert.is(encoded.buffer, wireOut.buffer);
  assert.throws(() => codec.decode(wire, new Int16Array(10)), (err: unknown) => err instanceof CodecBufferError);
});

test.run();
