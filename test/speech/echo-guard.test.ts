import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EchoGuard } from '../../src/speech/index.ts';

/** A frame of a 440 Hz tone at the given amplitude. */
function frame(amplitude: number): Int16Array {
  const pcm = new Int16Array(160);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return pcm;
}

/** Speech-like envelope: syllables rising and falling, deterministic. */
function envelope(n: number, seed = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(800 + 7000 * Math.abs(Math.sin((i + seed) * 0.7) * Math.cos((i + seed) * 0.23)));
  return out;
}

/** Another talker: syllable levels from a fixed pseudo-random sequence, unrelated to `envelope`. */
function otherTalker(n: number): number[] {
  let x = 12345;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(500 + (x / 4294967296) * 6000);
  }
  return out;
}

function feed(guard: EchoGuard, bot: number[], caller: number[]): void {
  for (let i = 0; i < bot.length; i++) {
    guard.observeBot(frame(bot[i]!));
    guard.observeCaller(frame(caller[i] ?? 0));
  }
}

/** The bot's audio returned `delay` frames later, scaled (0.18 is about -15 dB), over a faint line noise. */
function echoOf(bot: number[], delay: number, scale: number): number[] {
  return bot.map((_, i) => (i >= delay ? bot[i - delay]! * scale : 0) + 20);
}

test('learns an echo path (delay and loss) from the caller side following the bot', () => {
  const guard = new EchoGuard();
  const bot = envelope(80);
  feed(guard, bot, echoOf(bot, 4, 0.18));
  const path = guard.path;
  assert.ok(path, 'a path is learned');
  assert.is(path!.delayFrames, 4);
  assert.ok(Math.abs(path!.lossDb - 14.9) < 1.5, `loss ${path!.lossDb}`);
  assert.ok(guard.isEcho());
  assert.ok(guard.isEchoOnset(2));
});

test('no echo path on a line that does not follow the bot: nothing is echo, however quiet', () => {
  const guard = new EchoGuard();
  const bot = envelope(80);
  feed(guard, bot, otherTalker(80).map((a) => 80 + a / 40)); // faint, well under the bot, its own shape
  assert.is(guard.path, undefined);
  assert.not.ok(guard.isEcho());
  assert.not.ok(guard.isEchoOnset(2));
});

test('line noise, then a word, over a talking bot is a barge-in, not echo', () => {
  const guard = new EchoGuard();
  const bot = envelope(80);
  feed(guard, bot, [...new Array(78).fill(33), 580, 230]);
  assert.not.ok(guard.isEchoOnset(2));
  assert.not.ok(guard.isEcho());
});

test('with an echo path learned, the caller talking louder than the echo is not echo', () => {
  const guard = new EchoGuard();
  const bot = envelope(100);
  const caller = echoOf(bot, 4, 0.18);
  for (let i = 90; i < 100; i++) caller[i] = bot[i]! * 0.8; // about -2 dB: far above the -15 dB echo
  feed(guard, bot, caller);
  assert.ok(guard.path, 'the path was learned before the caller spoke');
  assert.not.ok(guard.isEchoOnset(2));
  assert.not.ok(guard.isEcho());
});

test('with an echo path learned, a new sentence of the bot coming back is echo at its onset', () => {
  const guard = new EchoGuard();
  const first = envelope(70);
  const pause = new Array(15).fill(0);
  const second = envelope(4, 9);
  const bot = [...first, ...pause, ...second];
  feed(guard, bot, echoOf(bot, 3, 0.18));
  // The caller side has just risen with the echo of the second sentence's first frame.
  assert.ok(guard.isEchoOnset(1));
});

test('nothing is echo while the bot is silent, and a steady tone shows no path to learn', () => {
  const silent = new EchoGuard();
  feed(silent, new Array(80).fill(0), envelope(80).map((a) => a * 0.1));
  assert.not.ok(silent.isEcho());
  const tone = new EchoGuard();
  feed(tone, new Array(80).fill(5000), new Array(80).fill(400));
  assert.is(tone.path, undefined, 'a flat envelope proves nothing: barge-ins are honoured');
});

test.run();
