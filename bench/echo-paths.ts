/**
 * How the echo guard learns a line's echo path, measured on lines with echo and on lines without, with no server
 * in the way: the bench flows' prompts in the bot's espeak-ng voice (at the prompt level the speaker sets), put on
 * a simulated line frame by frame as the server pairs bot and caller frames, the caller side through G.711 mu-law
 * with -50 dBFS line noise.
 *
 *   node --import tsx bench/echo-paths.ts [--verbose]
 *
 * Lines with echo: every prompt at echo delays of 3, 5 and 10 frames and losses of 6-25 dB, played out three ways
 * (JITTERS: in step; the delay moving by a frame; in clumps, as a loaded server does). The caller says nothing.
 * Reported: how many lines learned the path (its delay within a frame or two, its loss within LOSS_ERROR_DB) and
 * how soon after the prompt began; how many let a stretch of echo (100 ms or more) through as louder than the echo
 * can be, which the engine would hear as a barge-in.
 *
 * Lines without echo: the caller talks over every prompt, with each of the caller phrases, from three points in the
 * prompt, at two levels, with the bot going on (a backchannel, a voice in the room) or stopping as a barge-in stops
 * it. Reported: how many learned a path that is not there (a false path: with a small loss it would take a barge-in
 * for echo), and how many of the caller's onsets the guard took for echo (before a path or a bound, a quiet caller
 * early in a prompt cannot be told from a strong echo).
 *
 * The counts are deterministic: the same code gives the same counts on any machine, busy or not. Last, the guard's
 * cost per caller frame on lines with and without echo (timed, so it varies with the machine).
 */
import { parseArgs } from 'node:util';
import { speakLines, synthesizeCallerTurns } from '../src/cli/caller-voice.ts';
import { createCodec } from '../src/media/index.ts';
import { LineNoise } from '../src/pbx/simulator/line-noise.ts';
import { EchoGuard } from '../src/speech/index.ts';
import { trimToVoice } from './lib/realistic.ts';
import type { Lang } from './lib/script.ts';

const RATE = 8000;
const FRAME = 160;
const NOISE_DBFS = -50;

const PROMPTS: Readonly<Record<Lang, readonly string[]>> = {
  zh: [
    '您好，这里是示例银行。请问您现在方便说话吗？',
    '好的。我们本周有一个新的账单提醒服务，每月九块九，需要我给您详细介绍吗？',
    '这个服务会在还款日前提醒您，还有账单分析。您看哪天方便开通？比如明天，或者下周。',
    '好的，已经为您登记。请问还有其他问题吗？',
    '这个问题我记下了，稍后会有专人回复您。',
    '喂，您好，能听到吗？',
  ],
  en: [
    'Hello, this is Example Bank. Is now a good time to talk?',
    'Great. We have a new bill reminder service this week, for one dollar a month. Would you like to hear more?',
    'It reminds you before each due date and analyses your bills. When should we start it? For example tomorrow, or next week.',
    'Done, you are registered. Do you have any other questions?',
    'I have noted that question, a colleague will get back to you.',
    'Hello, can you hear me?',
  ],
};

const CALLER_PHRASES: Readonly<Record<Lang, readonly string[]>> = {
  zh: ['是的', '不需要', '我现在在上班', '你们那个服务每个月多少钱', '嗯，那个，我下周吧', '你是谁', '可以', '我考虑一下'],
  en: ['yes', 'no thank you', 'I am at work right now', 'how much is it every month', 'um, let me see, next week', 'who is this', 'sure', 'let me think about it'],
};

const LOSSES_DB = [6, 10, 15, 20, 25];
const DELAYS_FRAMES = [3, 5, 10];
/** Where in the prompt the caller starts talking over it (share of the prompt), and how loud the caller is. */
const OVERLAP_STARTS = [0.1, 0.4, 0.7];
const CALLER_GAINS_DB = [0, -10];
/**
 * How the server sees the bot and its echo: in step; with the delay moving between d and d + 1 frames in runs of
 * 2-9 frames; or, as the echo-line engine test showed with four engine tests at once on 2 cores (frame dumps), a
 * server whose event loop stalls so often that its pacer gets the prompt out in clumps of 3-5 frames with 2-10
 * frames of nothing between them (the phone plays what comes, so the caller side has the same gaps), and the echo
 * of each clump lands a frame early or late.
 */
type Jitter = 'steady' | 'slow' | 'choppy';
const JITTERS: readonly Jitter[] = ['steady', 'slow', 'choppy'];
const JITTER_NAMES: Readonly<Record<Jitter, string>> = {
  steady: 'steady',
  slow: 'moves by a frame, runs of 2-9',
  choppy: 'the prompt in clumps of 3-5 frames, gaps of 2-10',
};
/** A learned loss this close to the line's is right (on the weakest lines the noise adds to what the echo returns). */
const LOSS_ERROR_DB = 4;
/** A barge-in stops the bot this many frames into the caller's voice (the bench's barge-in stop p95 is under 100 ms). */
const BARGE_IN_STOP_FRAMES = 15;
/** A stretch of echo this long taken for talk would start a barge-in. */
const TALK_RUN_FRAMES = 5;

interface EchoLineResult {
  lang: Lang;
  jitter: Jitter;
  lossDb: number;
  delay: number;
  learnedAtMs: number | undefined;
  right: boolean;
  leakedRuns: number;
  path: string;
}

interface DoubleTalkResult {
  lang: Lang;
  botStops: boolean;
  start: number;
  gain: number;
  falsePath: { delayFrames: number; lossDb: number; correlation: number; spreadDb?: number } | undefined;
  onsetTakenForEcho: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { verbose: { type: 'boolean', default: false } } });
  const echoLines: EchoLineResult[] = [];
  const doubleTalk: DoubleTalkResult[] = [];
  const allPrompts: Int16Array[] = [];
  for (const lang of ['zh', 'en'] as const) {
    // The prompts as the server sends them: the bot's voice (the server's default 175 words a minute) at 8 kHz.
    const prompts = await speakLines(PROMPTS[lang], lang, RATE, 175);
    allPrompts.push(...prompts);
    const callers = (await synthesizeCallerTurns(CALLER_PHRASES[lang].map((text) => ({ text, mode: 'bargeIn' as const })), lang, RATE)).map((t) =>
      trimToVoice(t.pcm),
    );
    for (const bot of prompts) {
      for (const jitter of JITTERS)
        for (const delay of DELAYS_FRAMES) for (const lossDb of LOSSES_DB) echoLines.push({ lang, jitter, lossDb, delay, ...runEchoLine(bot, delay, lossDb, jitter) });
      for (const caller of callers)
        for (const start of OVERLAP_STARTS)
          for (const gain of CALLER_GAINS_DB)
            for (const botStops of [false, true]) doubleTalk.push({ lang, botStops, start, gain, ...runDoubleTalk(bot, caller, start, gain, botStops) });
    }
  }
  if (values.verbose) {
    for (const r of echoLines.filter((e) => !e.right || e.leakedRuns > 0))
      console.log(`echo ${r.lang} jitter=${r.jitter} delay=${r.delay} loss=${r.lossDb}: learned ${r.learnedAtMs ?? '-'} ms right=${r.right} path ${r.path} leaked runs ${r.leakedRuns}`);
    for (const r of doubleTalk.filter((d) => d.falsePath))
      console.log(`false path ${r.lang}: ${r.falsePath!.delayFrames} frames ${r.falsePath!.lossDb.toFixed(1)} dB r ${r.falsePath!.correlation.toFixed(2)} spread ${r.falsePath!.spreadDb?.toFixed(1) ?? '-'}`);
  }
  console.log('Lines with echo (the caller silent):');
  console.log('| playout | loss dB | lines | path learned right | learned, ms after the prompt began, p50 / max | lines letting echo through as talk |');
  console.log('|---|---|---|---|---|---|');
  for (const jitter of JITTERS)
    for (const lossDb of LOSSES_DB) {
      const part = echoLines.filter((e) => e.jitter === jitter && e.lossDb === lossDb);
      const learned = part.filter((e) => e.right).map((e) => e.learnedAtMs!).sort((a, b) => a - b);
      const p50 = learned.length ? learned[Math.floor(learned.length / 2)] : undefined;
      console.log(
        `| ${JITTER_NAMES[jitter]} | ${lossDb} | ${part.length} | ${learned.length} | ${p50 ?? '-'} / ${learned.at(-1) ?? '-'} | ${part.filter((e) => e.leakedRuns > 0).length} |`,
      );
    }
  console.log('\nLines without echo (the caller talks over the prompt):');
  console.log('| the bot | language | lines | false paths learned | their loss dB | caller onsets taken for echo |');
  console.log('|---|---|---|---|---|---|');
  for (const botStops of [false, true])
    for (const lang of ['zh', 'en'] as const) {
      const part = doubleTalk.filter((d) => d.lang === lang && d.botStops === botStops);
      const falsePaths = part.filter((d) => d.falsePath).map((d) => d.falsePath!.lossDb.toFixed(1));
      console.log(
        `| ${botStops ? `stops ${BARGE_IN_STOP_FRAMES * 20} ms into the caller's voice` : 'goes on (a backchannel, noise)'} | ${lang} | ${part.length} | ${falsePaths.length} | ${falsePaths.join(', ') || '-'} | ${part.filter((d) => d.onsetTakenForEcho).length} |`,
      );
    }
  console.log(`\nThe guard's cost per caller frame, over ${COST_ROUNDS} rounds of every prompt (timed: varies with the machine):`);
  console.log('| line | µs per frame |');
  console.log('|---|---|');
  console.log(`| 10 dB echo, in step (a path learned) | ${guardCost(allPrompts, 10).toFixed(2)} |`);
  console.log(`| no echo (line noise only) | ${guardCost(allPrompts, undefined).toFixed(2)} |`);
  console.log('\nCaller onsets taken for echo, by where in the prompt the caller starts and how loud:');
  console.log(`| caller starts at | ${CALLER_GAINS_DB.map((g) => `${g} dB`).join(' | ')} |`);
  console.log(`|---|${CALLER_GAINS_DB.map(() => '---').join('|')}|`);
  for (const start of OVERLAP_STARTS) {
    const cells = CALLER_GAINS_DB.map((gain) => {
      const part = doubleTalk.filter((d) => d.start === start && d.gain === gain);
      return `${part.filter((d) => d.onsetTakenForEcho).length} of ${part.length}`;
    });
    console.log(`| ${Math.round(start * 100)} % | ${cells.join(' | ')} |`);
  }
}

/** A fixed pseudo-random sequence, so that runs repeat. */
function sequence(seed: number): (k: number) => number {
  let x = seed;
  return (k) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
}

/**
 * The bot frames as the server puts them on the wire, one per caller frame (undefined: nothing sent), and for each
 * caller frame the index of the bot frame whose echo it carries (-1: none).
 */
function playout(bot: Int16Array, delay: number, jitter: Jitter): { played: (Int16Array | undefined)[]; echoOf: Int32Array } {
  const frames = Math.floor(bot.length / FRAME);
  const played: (Int16Array | undefined)[] = new Array(LEAD_FRAMES).fill(undefined);
  const rand = sequence(777);
  // The extra frame of delay each played frame's echo takes.
  const extraOf: number[] = new Array(LEAD_FRAMES).fill(0);
  let extra = 0;
  let left = 0;
  for (let k = 0; k < frames; ) {
    if (jitter === 'choppy') {
      extra = rand(2);
      const clump = Math.min(frames - k, 3 + rand(3));
      for (let c = 0; c < clump; c++, k++) {
        played.push(frameOf(bot, k));
        extraOf.push(extra);
      }
      const gap = 2 + rand(9);
      for (let g = 0; g < gap; g++) {
        played.push(undefined);
        extraOf.push(extra);
      }
      continue;
    }
    if (jitter === 'slow' && left-- <= 0) {
      extra = extra === 0 ? 1 : 0;
      left = 2 + rand(8);
    }
    played.push(frameOf(bot, k++));
    extraOf.push(extra);
  }
  for (let i = 0; i < 50; i++) {
    played.push(undefined);
    extraOf.push(0);
  }
  const echoOf = new Int32Array(played.length).fill(-1);
  for (let j = 0; j < played.length; j++) {
    const at = j + delay + extraOf[j]!;
    if (played[j] && at < echoOf.length) echoOf[at] = j;
  }
  return { played, echoOf };
}

/** A line carrying the caller side: echo of the bot, the caller's voice, line noise, mu-law both ways. */
class Line {
  private readonly codec = createCodec('pcmu');
  private readonly noise = new LineNoise(NOISE_DBFS, FRAME);
  private readonly mixed = new Int16Array(FRAME);

  caller(echo: Int16Array | undefined, echoScale: number, voice: Int16Array | undefined, voiceScale: number): Int16Array {
    for (let i = 0; i < FRAME; i++) {
      const v = (echo ? echo[i]! * echoScale : 0) + (voice ? voice[i]! * voiceScale : 0);
      this.mixed[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    return this.codec.decode(this.codec.encode(this.noise.mix(this.mixed)));
  }
}

function frameOf(pcm: Int16Array, index: number): Int16Array | undefined {
  if (index < 0 || (index + 1) * FRAME > pcm.length) return undefined;
  return pcm.subarray(index * FRAME, (index + 1) * FRAME);
}

/** One second of line before the prompt (the call's first frames: the noise floor settles), the prompt, 1 s after. */
const LEAD_FRAMES = 50;

function runEchoLine(bot: Int16Array, delay: number, lossDb: number, jitter: Jitter): Omit<EchoLineResult, 'lang' | 'jitter' | 'lossDb' | 'delay'> {
  const guard = new EchoGuard();
  const line = new Line();
  const { played, echoOf } = playout(bot, delay, jitter);
  const scale = Math.pow(10, -lossDb / 20);
  const silence = new Int16Array(FRAME);
  const isRight = (p: { delayFrames: number; lossDb: number }): boolean =>
    p.delayFrames >= delay - 1 && p.delayFrames <= delay + (jitter !== 'steady' ? 2 : 1) && Math.abs(p.lossDb - lossDb) <= LOSS_ERROR_DB;
  let learnedAtMs: number | undefined;
  let run = 0;
  let leakedRuns = 0;
  for (let i = 0; i < played.length; i++) {
    guard.observeBot(played[i] ?? silence);
    const from = echoOf[i]!;
    guard.observeCaller(line.caller(from >= 0 ? played[from] : undefined, scale, undefined, 0));
    const path = guard.path;
    if (path && learnedAtMs === undefined && isRight(path)) learnedAtMs = (i - LEAD_FRAMES) * 20;
    if (guard.isOverEcho()) {
      if (++run === TALK_RUN_FRAMES) leakedRuns++;
    } else run = 0;
  }
  const path = guard.path;
  const right = path !== undefined && isRight(path);
  return { learnedAtMs: right ? learnedAtMs : undefined, right, leakedRuns, path: path ? `${path.delayFrames}/${path.lossDb.toFixed(1)}/${path.correlation.toFixed(2)}` : '-' };
}

const COST_ROUNDS = 20;

/** Microseconds the guard takes per caller frame (with its bot frame), on lines with or without an echo. */
function guardCost(prompts: Int16Array[], echoLossDb: number | undefined): number {
  // The lines are built first, so that only the guard is timed.
  const lines = prompts.map((bot) => {
    const { played, echoOf } = playout(bot, 5, 'steady');
    const line = new Line();
    const scale = echoLossDb === undefined ? 0 : Math.pow(10, -echoLossDb / 20);
    const silence = new Int16Array(FRAME);
    const botFrames = played.map((f) => f ?? silence);
    const callerFrames = played.map((_, i) => line.caller(echoOf[i]! >= 0 ? played[echoOf[i]!] : undefined, scale, undefined, 0).slice());
    return { botFrames, callerFrames };
  });
  let frames = 0;
  const started = performance.now();
  for (let round = 0; round < COST_ROUNDS; round++)
    for (const { botFrames, callerFrames } of lines) {
      const guard = new EchoGuard();
      for (let i = 0; i < botFrames.length; i++) {
        guard.observeBot(botFrames[i]!);
        guard.observeCaller(callerFrames[i]!);
      }
      frames += botFrames.length;
    }
  return ((performance.now() - started) * 1000) / frames;
}

function runDoubleTalk(bot: Int16Array, caller: Int16Array, startShare: number, gainDb: number, botStops: boolean): Omit<DoubleTalkResult, 'lang' | 'botStops' | 'start' | 'gain'> {
  const guard = new EchoGuard();
  const line = new Line();
  const botFrames = Math.floor(bot.length / FRAME);
  const callerStart = LEAD_FRAMES + Math.round(botFrames * startShare);
  const total = Math.max(LEAD_FRAMES + botFrames, callerStart + Math.floor(caller.length / FRAME)) + 50;
  const silence = new Int16Array(FRAME);
  const scale = Math.pow(10, gainDb / 20);
  let onsetTakenForEcho = false;
  for (let i = 0; i < total; i++) {
    guard.observeBot((botStops && i >= callerStart + BARGE_IN_STOP_FRAMES ? undefined : frameOf(bot, i - LEAD_FRAMES)) ?? silence);
    guard.observeCaller(line.caller(undefined, 0, frameOf(caller, i - callerStart), scale));
    // The engine asks at an onset, about 100 ms into the caller's voice.
    if (i === callerStart + TALK_RUN_FRAMES && guard.isEchoOnset(TALK_RUN_FRAMES)) onsetTakenForEcho = true;
  }
  const path = guard.path;
  return { falsePath: path ? { ...path } : undefined, onsetTakenForEcho };
}

await main();
