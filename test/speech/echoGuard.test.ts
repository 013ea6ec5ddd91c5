import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EchoGuard } from '../../src/speech/index.ts';

/** A frame of a 440 Hz tone at the given RMS-ish amplitude. */
function frame(amplitude: number): Int16Array {
  const pcm = new Int16Array(160);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return pcm;
}

/** Speech-like envelope: syllables rising and falling, deterministic. */
function envelope(n: number, seed: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(800 + 7000 * Math.abs(Math.sin((i + seed) * 0.7) * Math.cos((i + seed) * 0.23)));
  return out;
}

function feed(guard: EchoGuard, bot: number[], caller: number[]): void {
  for (let i = 0; i < bot.length; i++) {
    guard.observeBot(frame(bot[i]!));
    guard.observeCaller(frame(caller[i] ?? 0));
  }
}

test('the bot audio coming back delayed and attenuated is echo', () => {
  const guard = new EchoGuard();
  const bot = envelope(40, 0);
  const delay = 4; // 80 ms echo path
  const caller = bot.map((_, i) => (i >= delay ? bot[i - delay]! * 0.18 : 0)); // about -15 dB
  feed(guard, bot, caller);
  assert.ok(guard.isEcho());
});

/** Another talker: syllable levels from a fixed pseudo-random sequence, unrelated to `envelope`. */
function otherTalker(n: number): number[] {
  let x = 12345;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(500 + (x / 2147483648) * 6000);
  }
  return out;
}

test('a caller quieter than the bot but with a voice of their own is not echo', () => {
  const guard = new EchoGuard();
  const bot = envelope(40, 0);
  const caller = otherTalker(40).map((a) => a * 0.3); // about -10 dB, different syllables
  feed(guard, bot, caller);
  assert.not.ok(guard.isEcho());
});

test('a faint caller whose envelope does not follow the bot is not echo (correlation, not level, decides)', () => {
  const guard = new EchoGuard();
  const bot = envelope(40, 0);
  // Every frame well under the bot's quietest frame, so only the envelope shape can tell.
  const caller = otherTalker(40).map((a) => 80 + a / 40);
  feed(guard, bot, caller);
  assert.not.ok(guard.isEcho());
});

test('a caller starting to talk out of digital silence over a talking bot is not echo', () => {
  const guard = new EchoGuard();
  const bot = envelope(40, 0);
  // Silence, then the first (still quiet) frames of a word.
  const caller = bot.map((_, i) => (i < 37 ? 0 : 300 + (i - 37) * 300));
  feed(guard, bot, caller);
  assert.not.ok(guard.isEcho());
});

test('line noise then a word, against a bot fading in near the floor, is not echo', () => {
  const guard = new EchoGuard();
  // The bot's prompt starts softly (-48 dBFS frames), then talks; the caller's line carries -60 dBFS noise until
  // the caller starts a word over it (seen on simulated calls: a real barge-in was ignored as echo).
  // Frame for frame the caller side sits a steady ~15 dB under the bot: only the bot's level tells it apart.
  const bot = [...new Array(30).fill(0), ...new Array(8).fill(200), 3000, 1200];
  const caller = [...new Array(38).fill(33), 580, 230];
  feed(guard, bot, caller);
  assert.not.ok(guard.isEcho());
});

test('a caller louder than the bot is not echo', () => {
  const guard = new EchoGuard();
  const bot = envelope(40, 0);
  feed(guard, bot, bot.map((a) => a * 2));
  assert.not.ok(guard.isEcho());
});

test('nothing is echo while the bot is silent', () => {
  const guard = new EchoGuard();
  feed(guard, new Array(40).fill(0), envelope(40, 3).map((a) => a * 0.1));
  assert.not.ok(guard.isEcho());
});

test('a steady caller-side sound under a steady bot tone is echo only at a steady loss, at any level under it', () => {
  const echo = new EchoGuard();
  feed(echo, new Array(40).fill(5000), new Array(40).fill(400)); // -22 dB, constant: a linear path
  assert.ok(echo.isEcho());
  const near = new EchoGuard();
  feed(near, new Array(40).fill(5000), new Array(40).fill(4500)); // -1 dB: too loud for an echo path
  assert.not.ok(near.isEcho());
});

test('a caller starting to talk over line noise while the bot talks is not echo', () => {
  const guard = new EchoGuard();
  const bot = envelope(40, 0);
  const caller = bot.map((_, i) => (i < 37 ? 40 : 900 + (i - 37) * 400)); // -58 dBFS line noise, then a word
  feed(guard, bot, caller);
  assert.not.ok(guard.isEcho());
});

test.run();
