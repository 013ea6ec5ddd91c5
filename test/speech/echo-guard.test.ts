import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EchoGuard, OnsetDetector } from '../../src/speech/index.ts';

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

test('no echo path on a line that does not follow the bot: the line shows how weak any echo must be', () => {
  const guard = new EchoGuard();
  const bot = envelope(80);
  const faint = otherTalker(80).map((a) => 80 + a / 40); // faint, well under the bot, its own shape
  feed(guard, bot, faint);
  assert.is(guard.path, undefined);
  // At any delay the caller side sits some 30 dB under the bot: an echo, if any, is at least that much weaker.
  assert.ok(guard.assumedLossDb > 20, `assumed loss ${guard.assumedLossDb}`);
  // So a caller talking at an ordinary level over the bot is speech, frame one of it.
  feed(guard, envelope(3, 80), [2000, 2500, 2000]);
  assert.not.ok(guard.isEchoOnset(2));
  assert.not.ok(guard.isEcho());
  assert.not.ok(guard.isEchoFrame());
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

/** Line noise: a pseudo-random hiss of about `dbfs` RMS, the same every run. */
function hiss(dbfs: number, seed: number): Int16Array {
  const rms = 32768 * Math.pow(10, dbfs / 20);
  const pcm = new Int16Array(160);
  let x = seed >>> 0;
  for (let i = 0; i < pcm.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    pcm[i] = Math.round((x / 4294967296 - 0.5) * rms * Math.sqrt(12));
  }
  return pcm;
}

/** Sums frames sample by sample (into a new frame), clipped as a line would. */
function mix(...frames: Int16Array[]): Int16Array {
  const out = new Int16Array(160);
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (const f of frames) v += f[i]!;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

function scaled(pcm: Int16Array, gain: number): Int16Array {
  return pcm.map((v) => Math.round(v * gain));
}

/**
 * One bot prompt (starting from silence, as a greeting does) on a line that returns it `delay` frames late and
 * `lossDb` down over -50 dBFS line noise, with `caller` frames (by index) mixed in. The guard is asked what the
 * turn loop asks at every frame; returns its verdicts.
 */
function playLine(opts: { delay: number; lossDb?: number; frames: number; botFrames?: number; caller?: (i: number) => Int16Array | undefined }) {
  const guard = new EchoGuard();
  const onset = new OnsetDetector({ frames: 3 });
  const bot = envelope(opts.botFrames ?? opts.frames).map((a) => frame(a));
  const gain = opts.lossDb === undefined ? 0 : Math.pow(10, -opts.lossDb / 20);
  const silent = new Int16Array(160);
  const verdicts: { frame: number; onset: boolean; echoOnset: boolean; echo: boolean; echoFrame: boolean; verdict: boolean | undefined; learned: boolean }[] = [];
  for (let i = 0; i < opts.frames; i++) {
    guard.observeBot(bot[i] ?? silent);
    const echo = i >= opts.delay ? scaled(bot[i - opts.delay] ?? silent, gain) : silent;
    const pcm = mix(echo, hiss(-50, i + 1), opts.caller?.(i) ?? silent);
    guard.observeCaller(pcm);
    verdicts.push({
      frame: i,
      onset: onset.push(pcm),
      echoOnset: guard.isEchoOnset(3),
      echo: guard.isEcho(),
      echoFrame: guard.isEchoFrame(),
      verdict: guard.echoVerdict(),
      learned: guard.path !== undefined,
    });
  }
  return { guard, verdicts };
}

for (const delay of [1, 5, 10, 14]) {
  for (const lossDb of [6, 10, 20, 30]) {
    test(`an echo ${delay * 20} ms late and ${lossDb} dB down never stops the bot, from the prompt's first frame; its path is learned`, () => {
      const { guard, verdicts } = playLine({ delay, lossDb, frames: 120 });
      // Every rise the onset detector sees (what would pause the bot) is called echo, the first ones included,
      // before any path was learned.
      const onsets = verdicts.filter((v) => v.onset);
      if (lossDb <= 20) assert.ok(onsets.length > 0, 'the echo rises above the line noise');
      for (const v of onsets) assert.ok(v.echoOnset, `onset at frame ${v.frame} taken for speech`);
      // Nor does the VAD's speech (the echo) count. Frames are called echo (not decoded, an utterance of them no
      // turn) only once the path is learned: before, they are "not known", never "not echo".
      for (const v of verdicts.slice(delay + 12)) {
        assert.ok(v.echo, `frame ${v.frame}: VAD speech taken for the caller`);
        assert.is(v.echoFrame, v.learned, `frame ${v.frame}: echo frame ${v.echoFrame} with a path learned ${v.learned}`);
        assert.is(v.verdict, v.learned ? true : undefined, `frame ${v.frame}: verdict ${v.verdict}`);
      }
      if (lossDb <= 20) {
        assert.ok(guard.path, 'a path is learned');
        assert.is(guard.path!.delayFrames, delay);
        assert.ok(Math.abs(guard.path!.lossDb - lossDb) < 2, `loss ${guard.path!.lossDb}`);
      } else {
        // 30 dB down the echo is at the line noise: the guard may not find its shape, but knows it is weak.
        assert.ok(guard.assumedLossDb >= 20, `assumed loss ${guard.assumedLossDb}`);
      }
    });
  }
}

test('double talk before the path is learned: a caller clearly louder than the strongest plausible echo is speech at once', () => {
  // The caller starts 100 ms into the greeting, on a line with a strong echo (8 dB, 100 ms), at twice the bot's level.
  const voice = otherTalker(60).map((a) => frame(4000 + a));
  const { guard, verdicts } = playLine({ delay: 5, lossDb: 8, frames: 20, botFrames: 60, caller: (i) => (i >= 5 ? voice[i] : undefined) });
  assert.is(guard.path, undefined, 'too early to have learned the path');
  const first = verdicts.find((v) => v.onset && v.frame >= 5);
  assert.ok(first, 'the caller is an onset');
  assert.not.ok(first!.echoOnset, 'the caller pauses the bot');
  assert.not.ok(verdicts.at(-1)!.echo);
  assert.not.ok(verdicts.at(-1)!.echoFrame, 'the caller is decoded');
  assert.is(verdicts.at(-1)!.verdict, false, 'louder than any echo: shown not to be echo');
});

test('double talk after the path is learned: the caller at the bot\'s own level over its echo is speech, frame one', () => {
  const voice = otherTalker(200).map((a) => frame(1500 + a));
  const start = 100;
  const { guard, verdicts } = playLine({ delay: 5, lossDb: 12, frames: 130, caller: (i) => (i >= start ? voice[i] : undefined) });
  assert.ok(guard.path, 'learned during the first 2 s of the prompt');
  assert.ok(verdicts.slice(0, start).every((v) => !v.onset || v.echoOnset), 'no barge-in before the caller');
  const first = verdicts.find((v) => v.frame >= start && !v.echoFrame);
  assert.ok(first && first.frame <= start + 1, `decoded from the caller's first frame: ${first?.frame}`);
  assert.not.ok(verdicts[start + 2]!.echoOnset, 'an onset there pauses the bot');
  assert.not.ok(verdicts.at(-1)!.echo, 'the VAD start is a barge-in too');
});

test('no echo: after the first half second of the prompt the guard knows, and a word at an ordinary level is a barge-in', () => {
  const word = [580, 900, 1500, 1200, 700].map((a) => frame(a)); // about -35 to -27 dBFS: a soft-spoken word
  const { guard, verdicts } = playLine({ delay: 0, frames: 45, caller: (i) => (i >= 40 ? word[i - 40] : undefined) });
  assert.is(guard.path, undefined);
  assert.ok(guard.assumedLossDb > 20, `assumed loss ${guard.assumedLossDb}`);
  const onset = verdicts.find((v) => v.onset);
  assert.ok(onset && onset.frame >= 40 && !onset.echoOnset, `the word pauses the bot: ${JSON.stringify(onset)}`);
  assert.not.ok(verdicts.at(-1)!.echo);
  assert.not.ok(verdicts[onset!.frame]!.echoFrame, 'decoded');
  // Line noise alone while the bot talks is never an onset, so nothing was held or taken for echo before.
  assert.ok(verdicts.slice(0, 40).every((v) => !v.onset));
});

test('bot frames reaching the server in pairs (two between one pair of caller frames, none between the next) are matched one per caller frame', () => {
  const guard = new EchoGuard();
  const bot = envelope(120).map((a) => frame(a));
  const onset = new OnsetDetector({ frames: 3 });
  const silent = new Int16Array(160);
  for (let i = 0; i < bot.length; i++) {
    // The wire plays bot frame i at tick i; the server saw frames i and i + 1 together, at even ticks.
    if (i % 2 === 0) {
      guard.observeBot(bot[i]!);
      if (bot[i + 1]) guard.observeBot(bot[i + 1]!);
    }
    const pcm = mix(i >= 5 ? scaled(bot[i - 5]!, 0.3) : silent, hiss(-50, i + 1));
    guard.observeCaller(pcm);
    if (onset.push(pcm)) assert.ok(guard.isEchoOnset(3), `onset at frame ${i} taken for speech`);
    if (i > 20) assert.ok(guard.isEcho() && guard.echoVerdict() !== false, `frame ${i}`);
    if (guard.path) assert.ok(guard.isEchoFrame(), `frame ${i}: echo on the learned path`);
  }
  assert.is(guard.path?.delayFrames, 5);
});

test('isOverEcho: a quiet line after the bot stopped is neither echo nor a talker; the caller is', () => {
  const { guard } = playLine({ delay: 5, lossDb: 10, frames: 150, botFrames: 60 });
  assert.ok(guard.path);
  assert.not.ok(guard.isEchoFrame(), 'no bot talk left to echo');
  assert.not.ok(guard.isOverEcho(), 'line noise is nobody talking');
  guard.observeCaller(frame(3000));
  assert.ok(guard.isOverEcho());
});

test('a learned path stays put through a stretch that shows another less clearly (double talk, frames out of step)', () => {
  const guard = new EchoGuard();
  const bot = envelope(200);
  const other = otherTalker(200);
  // 1.6 s of a clean 100 ms, 10 dB path; then the caller side follows the bot 260 ms late under a talker of its own.
  const caller = bot.map((a, i) => (i < 80 ? (i >= 5 ? bot[i - 5]! * 0.32 : 0) : bot[i - 13]! * 0.08 + other[i]! * 0.05) + 20);
  feed(guard, bot, caller);
  assert.is(guard.path?.delayFrames, 5);
  assert.ok(Math.abs(guard.path!.lossDb - 10) < 1.5, `loss ${guard.path!.lossDb}`);
});

test('an utterance that began before the path was learned is judged on it afterwards, however long it ran', () => {
  // The greeting's echo, 10 dB down, 100 ms late, ran on as one 3.6 s utterance from 0.2 s into the call: longer than
  // the second of bot talk the path is learned over.
  const bot = envelope(200);
  const echo = echoOf(bot, 5, 0.32);
  const guard = new EchoGuard();
  feed(guard, bot, echo);
  assert.ok(guard.path, 'the path is learned');
  assert.is(guard.wasEcho(190, 10), true, 'all of it followed the path');

  // The same line, but the caller talks over the bot's echo from 0.4 s to 2.4 s: not echo.
  const talking = echo.map((level, i) => (i >= 20 && i < 120 ? level + otherTalker(200)[i]! * 2 : level));
  const overTalked = new EchoGuard();
  feed(overTalked, bot, talking);
  assert.is(overTalked.wasEcho(190, 10), false, 'the caller talking over it is not echo');

  // Frames older than the guard keeps cannot be judged either way.
  const forgetful = new EchoGuard({ historyFrames: 100 });
  feed(forgetful, bot, echo);
  assert.is(forgetful.wasEcho(190, 10), undefined);
  assert.is(forgetful.wasEcho(90, 10), true);
});

test('judging a past utterance, a blip out of step is still echo; a word over it is not', () => {
  const bot = envelope(200);
  const echo = echoOf(bot, 5, 0.32);
  const judge = (caller: number[]): boolean | undefined => {
    const guard = new EchoGuard();
    feed(guard, bot, caller);
    return guard.wasEcho(190, 10);
  };
  // Three frames of the echo a syllable early (frames out of step on a loaded machine): louder than the path allows
  // there, but not for a syllable's length.
  const blip = echo.map((level, i) => (i >= 100 && i < 103 ? 9000 : level));
  assert.is(judge(blip), true);
  // The caller says one short word (160 ms) over the echo.
  const word = echo.map((level, i) => (i >= 100 && i < 108 ? 9000 : level));
  assert.is(judge(word), false);
});

test('with frameSamples the guard gives the bot frame matched with each caller frame, in order, silence when none waits', () => {
  const guard = new EchoGuard({ frameSamples: 160 });
  const caller = frame(0);
  guard.observeBot(frame(1000));
  guard.observeBot(frame(2000));
  guard.observeCaller(caller);
  assert.equal(guard.matchedBotFrame, frame(1000));
  guard.observeCaller(caller);
  assert.equal(guard.matchedBotFrame, frame(2000));
  guard.observeCaller(caller);
  assert.equal(guard.matchedBotFrame, new Int16Array(160), 'no bot frame was waiting');
  assert.is(new EchoGuard().matchedBotFrame, undefined, 'off by default');
});

/** A fixed pseudo-random sequence of integers below k, so that runs repeat. */
function sequence(seed: number): (k: number) => number {
  let x = seed;
  return (k) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
}

/**
 * A prompt as a TTS voice says it: syllables of 2-6 frames at varying levels, 1-4 silent frames between them (about
 * half the frames talk).
 */
function syllables(n: number, seed: number): number[] {
  const rand = sequence(seed);
  const out: number[] = [];
  while (out.length < n) {
    const talk = 2 + rand(5);
    for (let i = 0; i < talk; i++) out.push(2500 + rand(7000));
    const gap = 1 + rand(4);
    for (let i = 0; i < gap; i++) out.push(0);
  }
  return out.slice(0, n);
}

test('a prompt played out in clumps (a busy server) is learned on, and its echo stays echo, though each clump lands a frame early or late', () => {
  // As the frame dumps of the echo-line engine test under load show: the pacer gets the prompt out in clumps of
  // 3-5 frames with 2-10 frames of nothing between them, and the echo of each clump (6 frames late here, 10 dB
  // down) lands a frame early or late. Paired frame by frame, in windows of the last 50 frames, no path showed over
  // the whole prompt (8 s of bot talk).
  const rand = sequence(99);
  const speech = syllables(400, 7);
  const bot: number[] = [];
  const extra: number[] = [];
  for (let k = 0; k < speech.length; ) {
    const shift = rand(2);
    const clump = 3 + rand(3);
    for (let c = 0; c < clump && k < speech.length; c++, k++) {
      bot.push(speech[k]!);
      extra.push(shift);
    }
    const gap = 2 + rand(9);
    for (let g = 0; g < gap; g++) {
      bot.push(0);
      extra.push(shift);
    }
  }
  const caller = new Array<number>(bot.length).fill(20);
  bot.forEach((a, j) => {
    const at = j + 6 + extra[j]!;
    if (a > 0 && at < caller.length) caller[at] = a * 0.316 + 20;
  });
  const guard = new EchoGuard();
  let learnedAt = -1;
  let highestBound = 0;
  let talkAfterPath = 0;
  for (let i = 0; i < bot.length; i++) {
    guard.observeBot(frame(bot[i]!));
    guard.observeCaller(frame(caller[i]!));
    if (!guard.path) highestBound = Math.max(highestBound, guard.assumedLossDb);
    else if (learnedAt < 0) learnedAt = i;
    else if (guard.isOverEcho()) talkAfterPath++;
  }
  assert.ok(learnedAt >= 0, 'a path is learned');
  const talkBefore = bot.slice(0, learnedAt).filter((a) => a > 0).length;
  assert.ok(talkBefore <= 80, `learned after ${talkBefore} frames of bot talk`);
  const path = guard.path!;
  assert.ok(path.delayFrames >= 5 && path.delayFrames <= 7, `delay ${path.delayFrames}`);
  // 0.316 of the amplitude is 10 dB down: the loss is the median level difference, not thrown off by the clumps' edges.
  assert.ok(Math.abs(path.lossDb - 10) < 1, `loss ${path.lossDb}`);
  assert.ok(highestBound <= 10, `before the path, the assumed loss stayed at or under the line's (${highestBound})`);
  assert.is(talkAfterPath, 0, 'once the path is learned, no frame of the echo is taken for someone talking');
});

/** Syllables that rise and fall (onset, nucleus, decay) over 3-8 frames, peaks at varying levels, 1-5 silent frames between. */
function shapedSyllables(n: number, seed: number): number[] {
  const rand = sequence(seed);
  const out: number[] = [];
  while (out.length < n) {
    const talk = 3 + rand(6);
    const peak = 3000 + rand(8000);
    for (let i = 0; i < talk; i++) out.push(peak * Math.sin(((i + 0.5) / talk) * Math.PI));
    const gap = 1 + rand(5);
    for (let i = 0; i < gap; i++) out.push(0);
  }
  return out.slice(0, n);
}

test('talkers over a bot on a line without echo are never taken for an echo path, though their syllables follow its by chance now and then', () => {
  // 200 talkers, at the bot's level, 6 dB and 10 dB under it, each over the whole of a 4 s prompt. Frame levels
  // correlate by chance at some delay now and then: before the test on the level differences, 15 of these lines
  // learned a path (9-27 dB "down"; the weaker of them would take a barge-in over the rest of the call for echo).
  const bot = shapedSyllables(200, 4242);
  const falsePaths: string[] = [];
  for (let t = 0; t < 200; t++) {
    const gain = [1, 0.5, 0.316][t % 3]!;
    const talker = shapedSyllables(200, 1000 + t).map((a) => a * gain + 20);
    const guard = new EchoGuard();
    feed(guard, bot, talker);
    if (guard.path) falsePaths.push(`talker ${t}: ${guard.path.delayFrames} frames, ${guard.path.lossDb.toFixed(1)} dB`);
  }
  assert.equal(falsePaths, []);
});

/** The level (dB, as the guard computes it) over which a bot frame counts as talk: -35 dBFS. */
const BOT_TALKING_LEVEL = 20 * Math.log10(32768) - 35;

/** A frame (a 440 Hz tone) whose level, as the guard computes it, is `db`. */
function frameAtLevel(db: number): Int16Array {
  return frame(db <= 0 ? 0 : Math.SQRT2 * Math.sqrt(Math.pow(10, db / 10) - 1));
}

test('the echo-line engine test under load, replayed from its frame levels: every call learns the 10 dB path within 80 frames (1.6 s) of bot talk, and never rates the echo weaker than it is', () => {
  // test/fixtures/echo-line-under-load: what the guard saw in 20 calls with two or four engine tests at once on 2
  // cores. Before the tolerant pairing, 2 calls never learned the path in 6 s, the others after 36-97 frames of bot
  // talk, and the bound rose to 13.7 dB, which lets a 10 dB echo through as talk.
  const text = readFileSync(new URL('../fixtures/echo-line-under-load/levels.txt', import.meta.url), 'utf8');
  const calls: [number, number][][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) calls.push([]);
    else if (line !== '') calls.at(-1)!.push(line.split(' ').map(Number) as [number, number]);
  }
  assert.is(calls.length, 20);
  calls.forEach((levels, c) => {
    const guard = new EchoGuard();
    let talk = 0;
    let talkBeforePath: number | undefined;
    let highestBound = 0;
    for (const [bot, caller] of levels) {
      guard.observeBot(frameAtLevel(bot));
      guard.observeCaller(frameAtLevel(caller));
      if (bot > BOT_TALKING_LEVEL) talk++;
      if (!guard.path) highestBound = Math.max(highestBound, guard.assumedLossDb);
      else talkBeforePath ??= talk;
    }
    // Rated 3 dB over the line's loss, the bound would let its echo through (UNLEARNED_TOLERANCE_DB).
    assert.ok(highestBound < 13, `call ${c}: the assumed loss rose to ${highestBound.toFixed(1)} dB before the path`);
    if (talk < 80) return;
    assert.ok(talkBeforePath !== undefined && talkBeforePath <= 80, `call ${c}: path after ${talkBeforePath ?? 'more than ' + talk} frames of bot talk`);
    const path = guard.path!;
    assert.ok(path.delayFrames >= 4 && path.delayFrames <= 7, `call ${c}: delay ${path.delayFrames}`);
    assert.ok(Math.abs(path.lossDb - 10) < 1, `call ${c}: loss ${path.lossDb.toFixed(1)}`);
  });
});

test.run();
