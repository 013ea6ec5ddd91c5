import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EchoCanceller, EchoGuard } from '../../src/speech/index.ts';

const FRAME = 160; // 20 ms at 8 kHz
/** 100 ms and 37 samples: the echo does not start on a frame boundary. */
const DELAY_SAMPLES = 5 * FRAME + 37;
/** A hybrid's response: a main tap and a short smear, about 10.5 dB of echo return loss in all. */
const HYBRID: ReadonlyArray<[number, number]> = [
  [0, 0.24],
  [1, 0.12],
  [2, -0.06],
  [5, 0.04],
  [9, -0.02],
];
const PATH = { delayFrames: 5, lossDb: 10.5 };

/** Colored noise with a syllable-rate envelope: speech-like enough for an adaptive filter, and deterministic. */
function talker(samples: number, seed: number, peak: number): Float64Array {
  const out = new Float64Array(samples);
  let x = seed >>> 0;
  let low = 0;
  for (let i = 0; i < samples; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const white = x / 4294967296 - 0.5;
    low = 0.85 * low + white;
    const syllable = Math.abs(Math.sin((i / 8000) * Math.PI * 4 + seed));
    out[i] = low * syllable * peak * 0.5;
  }
  return out;
}

interface Run {
  /** Caller-side frames as sent (echo + noise + caller talk) and the canceller's output, per sample. */
  sent: Float64Array;
  out: Float64Array;
  echo: Float64Array;
  talk: Float64Array;
}

/**
 * Bot audio through a hybrid back to the caller side, with a quiet line noise and, where `talk` is non-zero, the
 * caller talking over it. `skipBotFrameAt`: one bot frame is matched late from then on (the clocks slip a frame).
 */
function run(seconds: number, talk: Float64Array, opts: { skipBotFrameAt?: number; path?: typeof PATH; noEchoFrom?: number; noEchoTo?: number } = {}): Run {
  const n = seconds * 8000;
  const bot = talker(n, 7, 12000);
  const echo = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const [k, g] of HYBRID) {
      const j = i - DELAY_SAMPLES - k;
      if (j >= 0) echo[i]! += g * bot[j]!;
    }
  }
  // `noEchoFrom`..`noEchoTo` (s): the phone plays none of the bot's audio (a flush on its side dropped it).
  if (opts.noEchoFrom !== undefined) echo.fill(0, opts.noEchoFrom * 8000, (opts.noEchoTo ?? seconds) * 8000);
  const noise = talker(n, 99, 60);
  const canceller = new EchoCanceller({ frameSamples: FRAME });
  // Bot frames are matched with caller frames by the guard, as in a call.
  const pairing = new EchoGuard({ frameSamples: FRAME });
  const sent = new Float64Array(n);
  const out = new Float64Array(n);
  const botFrame = new Int16Array(FRAME);
  const callerFrame = new Int16Array(FRAME);
  for (let f = 0; f < n / FRAME; f++) {
    for (let i = 0; i < FRAME; i++) botFrame[i] = Math.round(bot[f * FRAME + i]!);
    if (f !== opts.skipBotFrameAt) pairing.observeBot(botFrame);
    if (opts.skipBotFrameAt !== undefined && f === opts.skipBotFrameAt + 1) pairing.observeBot(new Int16Array(FRAME));
    for (let i = 0; i < FRAME; i++) {
      const s = f * FRAME + i;
      sent[s] = Math.max(-32768, Math.min(32767, Math.round(echo[s]! + noise[s]! + (talk[s] ?? 0))));
      callerFrame[i] = sent[s]!;
    }
    pairing.observeCaller(callerFrame);
    const cleaned = canceller.process(callerFrame, pairing.matchedBotFrame!, 'path' in opts ? opts.path : PATH);
    for (let i = 0; i < FRAME; i++) out[f * FRAME + i] = cleaned[i]!;
  }
  return { sent, out, echo, talk };
}

function energy(x: Float64Array, from: number, to: number): number {
  let e = 0;
  for (let i = Math.floor(from * 8000); i < Math.floor(to * 8000); i++) e += x[i]! * x[i]!;
  return e;
}

/** Echo return loss enhancement over a stretch of bot-only talk: how much quieter the output is than the input. */
function erleDb(r: Run, from: number, to: number): number {
  return 10 * Math.log10(energy(r.sent, from, to) / energy(r.out, from, to));
}

test('with the delay from the guard, the echo of bot speech is taken out by 20 dB or more within 3 s', () => {
  const r = run(4, new Float64Array(0));
  const early = erleDb(r, 0.2, 0.7);
  const late = erleDb(r, 3, 4);
  assert.ok(late >= 20, `ERLE over the last second ${late.toFixed(1)} dB`);
  assert.ok(late > early, `it learned: ${early.toFixed(1)} -> ${late.toFixed(1)} dB`);
});

test('without a path nothing is changed', () => {
  const r = run(2, new Float64Array(0), { path: undefined });
  for (let i = 0; i < r.sent.length; i++) if (r.out[i] !== r.sent[i]) assert.unreachable(`sample ${i} changed`);
});

test('a caller talking over the echo comes through, and the filter does not learn the caller as echo', () => {
  const n = 6 * 8000;
  // The caller talks from 3 s to 4.5 s, as loud as the bot: the echo is learned first, then double talk.
  const caller = talker(1.5 * 8000, 31, 12000);
  const talk = new Float64Array(n);
  talk.set(caller, 3 * 8000);
  const r = run(6, talk);
  // During double talk: the output minus the caller's voice is the residual echo (and the line noise).
  let residual = 0;
  let echoIn = 0;
  let talkIn = 0;
  for (let i = 3.2 * 8000; i < 4.5 * 8000; i++) {
    const left = r.out[i]! - talk[i]!;
    residual += left * left;
    echoIn += r.echo[i]! * r.echo[i]!;
    talkIn += talk[i]! * talk[i]!;
  }
  const duringDb = 10 * Math.log10(echoIn / residual);
  assert.ok(duringDb >= 12, `echo taken out under double talk by ${duringDb.toFixed(1)} dB`);
  // The caller's voice is kept: what is left besides it is far below it.
  assert.ok(10 * Math.log10(talkIn / residual) >= 20, 'the caller is heard above what is left');
  const after = erleDb(r, 5, 6);
  assert.ok(after >= 18, `after the double talk the echo is still cancelled by ${after.toFixed(1)} dB`);
});

test('when the bot and caller clocks slip a frame, the filter follows within two seconds', () => {
  const r = run(7, new Float64Array(0), { skipBotFrameAt: 200 });
  const before = erleDb(r, 3, 4);
  const settled = erleDb(r, 6, 7);
  assert.ok(before >= 20, `before the slip ${before.toFixed(1)} dB`);
  assert.ok(settled >= 15, `two seconds after the slip ${settled.toFixed(1)} dB`);
});

test('bot audio that never came back on the line is not subtracted from it (the output is never louder)', () => {
  const r = run(5, new Float64Array(0), { noEchoFrom: 3, noEchoTo: 4 });
  assert.ok(erleDb(r, 2, 3) >= 20, 'the echo was learned');
  for (let f = 3 * 50; f < 4 * 50; f++) {
    const from = (f * FRAME) / 8000;
    const to = ((f + 1) * FRAME) / 8000;
    const louderDb = 10 * Math.log10((energy(r.out, from, to) + 1) / (energy(r.sent, from, to) + 1));
    assert.ok(louderDb <= 3, `frame ${f}: the output is ${louderDb.toFixed(1)} dB louder than the line`);
  }
  assert.ok(erleDb(r, 4.5, 5) >= 15, 'the echo is cancelled again when it returns');
});

test('a frame of the wrong size passes through', () => {
  const c = new EchoCanceller({ frameSamples: FRAME });
  const odd = new Int16Array(80).fill(1000);
  assert.is(c.process(odd, new Int16Array(FRAME), PATH), odd);
});

test.run();
