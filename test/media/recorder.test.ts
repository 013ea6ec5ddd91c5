import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attachRecorder, WavWriter } from '../../src/media/index.ts';
import { until } from '../support/e2e.ts';
import { FakeLeg, sleep } from './fake-leg.ts';

interface ParsedWav {
  sampleRate: number;
  channels: number;
  bits: number;
  riffSize: number;
  dataSize: number;
  samples: Int16Array;
}

function parseWav(path: string): ParsedWav {
  const bytes = readFileSync(path);
  assert.is(bytes.toString('ascii', 0, 4), 'RIFF');
  assert.is(bytes.toString('ascii', 8, 12), 'WAVE');
  assert.is(bytes.toString('ascii', 36, 40), 'data');
  const dataSize = bytes.readUInt32LE(40);
  const samples = new Int16Array(dataSize / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(44 + i * 2);
  return {
    sampleRate: bytes.readUInt32LE(24),
    channels: bytes.readUInt16LE(22),
    bits: bytes.readUInt16LE(34),
    riffSize: bytes.readUInt32LE(4),
    dataSize,
    samples,
  };
}

const scratch = mkdtempSync(join(tmpdir(), 'callpilot-media-rec-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('WavWriter patches the header while streaming and on close', async () => {
  const path = join(scratch, 'stream.wav');
  const writer = new WavWriter(path, 8000, { flushEveryMs: 1000 });
  const frame = new Int16Array(160);
  for (let i = 0; i < 75; i++) {
    frame.fill(i - 30);
    writer.write(frame);
  }
  // One second is on disk with a valid header before close: a crash would keep it. (The write is asynchronous: wait
  // for the header to say so rather than for a fixed time.)
  await until(() => parseWav(path).dataSize === 16000, 'the first second on disk');
  const midway = parseWav(path);
  assert.is(midway.dataSize, 16000);
  assert.is(midway.riffSize, 36 + 16000);
  assert.is(midway.samples[7999], 49 - 30);
  const summary = await writer.close();
  assert.is(summary.samples, 75 * 160);
  assert.is(summary.durationMs, 1500);
  const done = parseWav(path);
  assert.is(done.sampleRate, 8000);
  assert.is(done.channels, 1);
  assert.is(done.bits, 16);
  assert.is(done.dataSize, 75 * 320);
  assert.is(done.samples[0], -30);
  assert.is(done.samples[75 * 160 - 1], 74 - 30);
  assert.is(await writer.close(), await writer.close(), 'close is idempotent');
});

test('WavWriter fails at construction for an unwritable path', () => {
  assert.throws(() => new WavWriter(join(scratch, 'missing-dir', 'x.wav'), 8000));
});

test('recorder aligns bot audio on the caller-frame clock', async () => {
  const leg = new FakeLeg();
  const dir = join(scratch, 'aligned');
  const recorder = attachRecorder(leg, dir);
  const callerFrame = new Int16Array(160);
  const botFrame = new Int16Array(160);
  for (let i = 0; i < 10; i++) {
    callerFrame.fill(100 + i);
    leg.emit('frame', callerFrame);
    if (i >= 3 && i < 6) {
      botFrame.fill(-1000 * (i - 2));
      leg.emit('played', botFrame);
    }
  }
  // Two bot frames after the caller stream went quiet still end up in the files.
  botFrame.fill(7);
  leg.emit('played', botFrame);
  leg.emit('played', botFrame);
  const result = await recorder.close();
  assert.is(result.dir, dir);
  assert.is(result.durationMs, 12 * 20);
  const caller = parseWav(result.files.caller).samples;
  const bot = parseWav(result.files.bot).samples;
  const mixed = parseWav(result.files.mixed).samples;
  assert.is(caller.length, 12 * 160);
  assert.is(bot.length, caller.length);
  assert.is(mixed.length, caller.length);
  const at = (frame: number): number => frame * 160 + 5;
  // Bot frames played after caller frame i land in frame i + 1 of the clock.
  assert.equal([bot[at(3)], bot[at(4)], bot[at(5)], bot[at(6)], bot[at(7)]], [0, -1000, -2000, -3000, 0]);
  assert.equal([caller[at(4)], mixed[at(4)]], [104, 104 - 1000]);
  assert.equal([caller[at(10)], bot[at(10)], mixed[at(11)]], [0, 7, 7]);
  for (let i = 0; i < caller.length; i++) {
    if (mixed[i] !== caller[i] + bot[i]) assert.unreachable(`mix differs at ${i}`);
  }
  await leg.close({ code: 'shutdown' });
});

test('recorder clips the mix, records real pacing and finishes when the leg closes', async () => {
  const leg = new FakeLeg({ sampleRate: 16000 });
  const dir = join(scratch, 'paced');
  const recorder = attachRecorder(leg, dir);
  leg.play(new Int16Array(320 * 3).fill(30000));
  const loudCaller = new Int16Array(320).fill(30000);
  const ticker = setInterval(() => leg.callerFrame(loudCaller), 20);
  await sleep(110);
  clearInterval(ticker);
  await leg.close({ code: 'caller_hangup' });
  const result = await recorder.close();
  const mixed = parseWav(result.files.mixed);
  const bot = parseWav(result.files.bot).samples;
  assert.is(mixed.sampleRate, 16000);
  assert.ok(mixed.samples.includes(32767), 'the sum of two loud signals saturates instead of wrapping');
  assert.ok(!mixed.samples.some((s) => s < 0), 'no wrap-around');
  assert.is(bot.filter((s) => s === 30000).length, 320 * 3);
});

test.run();
