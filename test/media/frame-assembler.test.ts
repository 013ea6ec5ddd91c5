import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameAssembler } from '../../src/media/index.ts';

function collect(assembler: FrameAssembler, chunks: Uint8Array[]): number[][] {
  const frames: number[][] = [];
  for (const chunk of chunks) assembler.push(chunk, (frame) => frames.push(Array.from(frame)));
  return frames;
}

function bytes(from: number, count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (from + i) & 0xff);
}

test('splits a burst into exact frames', () => {
  const frames = collect(new FrameAssembler(4), [bytes(0, 12)]);
  assert.equal(frames, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9, 10, 11],
  ]);
});

test('joins odd-sized chunks and keeps leftovers in order', () => {
  const assembler = new FrameAssembler(4);
  const frames = collect(assembler, [bytes(0, 3), bytes(3, 1), bytes(4, 5), bytes(9, 2)]);
  assert.equal(frames, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ]);
  assert.is(assembler.pendingBytes, 3);
  assert.equal(collect(assembler, [bytes(11, 1)]), [[8, 9, 10, 11]]);
  assert.is(assembler.pendingBytes, 0);
});

test('byte-at-a-time input yields the same stream', () => {
  const assembler = new FrameAssembler(160);
  const input = bytes(7, 160 * 3 + 17);
  const chunks = Array.from(input, (b) => Uint8Array.of(b));
  const frames = collect(assembler, chunks);
  assert.is(frames.length, 3);
  assert.equal(frames.flat(), Array.from(input.subarray(0, 480)));
});

test('reuses one buffer for straddling frames and reset drops the partial', () => {
  const assembler = new FrameAssembler(4);
  const seen: Uint8Array[] = [];
  assembler.push(bytes(0, 2), (f) => seen.push(f));
  assembler.push(bytes(2, 4), (f) => seen.push(f));
  assembler.push(bytes(6, 4), (f) => seen.push(f));
  assert.is(seen.length, 2);
  assert.is(seen[0], seen[1], 'both frames straddled chunks and came from the same reused buffer');
  const aligned = bytes(0, 8);
  assembler.reset();
  assembler.push(aligned, (f) => assert.is(f.buffer, aligned.buffer, 'aligned frames are views of the chunk'));
  assembler.push(bytes(0, 2), () => assert.unreachable('partial'));
  assembler.reset();
  assert.is(assembler.pendingBytes, 0);
  assert.is(assembler.push(bytes(0, 3), () => assert.unreachable('no frame yet')), 0);
});

test('rejects a non-positive frame size', () => {
  assert.throws(() => new FrameAssembler(0));
});

test.run();
