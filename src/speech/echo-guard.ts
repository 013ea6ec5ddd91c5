/**
 * Tells whether sound on the caller side while the bot talks is the bot's own prompt leaking back through the
 * PBX (hybrid echo, a speakerphone) rather than the caller talking over it.
 *
 * An echo path is close to linear and stable for the call: it returns the bot's audio delayed (tens to a few
 * hundred ms) and attenuated by a roughly constant echo return loss (ERL). So the guard first *learns* the path:
 * while the bot talks, the caller side's energy envelope correlates strongly with the bot's at one delay, and the
 * level difference there is the ERL. With no such correlation (most calls: the network cancels echo, the caller
 * side is just line noise) there is no echo path and nothing is ever called echo, so every barge-in is honoured.
 * With a path, sound that sits where the path puts the bot's echo (same delay, about the same loss) is echo.
 *
 * Works on per-frame energies only (one number per 20 ms), so it costs next to nothing on the frame path.
 */
export interface EchoGuardOptions {
  /** Longest echo delay considered, in frames (default 15 = 300 ms). */
  maxDelayFrames?: number;
  /** Frames of bot talk the path is learned over (default 50 = 1 s). */
  learnFrames?: number;
  /** Envelope correlation that proves an echo path (default 0.7). */
  minCorrelation?: number;
  /** How far from the learned loss a frame may sit and still be echo, dB (default 6). */
  lossToleranceDb?: number;
}

/** Only frames where the bot clearly talks (above about -35 dBFS) say anything about an echo path. */
const BOT_TALKING_DB = 10 * Math.log10(32768 * 32768) - 35;
const BOT_TALKING_ENERGY = Math.pow(10, BOT_TALKING_DB / 10);
/** Echo return loss outside this range is no echo worth the name. */
const MIN_ECHO_RETURN_LOSS_DB = 6;
const MAX_ECHO_RETURN_LOSS_DB = 60;
/** Frames examined when the VAD (not the onset detector) reports speech over the bot. */
const SPEECH_WINDOW_FRAMES = 10;
/** The path is re-estimated every this many caller frames while the bot talks. */
const LEARN_EVERY_FRAMES = 5;

export interface EchoPath {
  delayFrames: number;
  lossDb: number;
  correlation: number;
}

export class EchoGuard {
  private readonly botDb: Float64Array;
  private readonly callerDb: Float64Array;
  private readonly botTalking: Uint8Array;
  private readonly size: number;
  private readonly maxDelay: number;
  private readonly learnFrames: number;
  private readonly minCorrelation: number;
  private readonly tolerance: number;
  /** Index of the next slot; both rings advance together on caller frames (the call's clock). */
  private head = 0;
  private frames = 0;
  private pendingBotEnergy = 0;
  private learned: EchoPath | undefined;
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;

  constructor(opts: EchoGuardOptions = {}) {
    this.maxDelay = opts.maxDelayFrames ?? 15;
    this.learnFrames = opts.learnFrames ?? 50;
    this.size = this.maxDelay + this.learnFrames + 1;
    this.botDb = new Float64Array(this.size);
    this.callerDb = new Float64Array(this.size);
    this.botTalking = new Uint8Array(this.size);
    this.minCorrelation = opts.minCorrelation ?? 0.7;
    this.tolerance = opts.lossToleranceDb ?? 6;
    this.xs = new Float64Array(this.learnFrames);
    this.ys = new Float64Array(this.learnFrames);
  }

  /** The echo path learned so far, if the caller side has shown one. */
  get path(): EchoPath | undefined {
    return this.learned;
  }

  /** A bot frame left on the wire. */
  observeBot(pcm: Int16Array): void {
    // Bot and caller frames tick at the same 20 ms rate but not in lockstep: keep the loudest bot frame until the
    // next caller frame fixes its slot.
    const e = meanSquare(pcm);
    if (e > this.pendingBotEnergy) this.pendingBotEnergy = e;
  }

  /** A caller frame arrived. */
  observeCaller(pcm: Int16Array): void {
    const bot = this.pendingBotEnergy;
    this.pendingBotEnergy = 0;
    this.callerDb[this.head] = toDb(meanSquare(pcm));
    this.botDb[this.head] = toDb(bot);
    this.botTalking[this.head] = bot > BOT_TALKING_ENERGY ? 1 : 0;
    this.head = (this.head + 1) % this.size;
    this.frames++;
    if (this.frames % LEARN_EVERY_FRAMES === 0 && this.botTalking[this.slot(1)] === 1) this.learn();
  }

  /**
   * Whether the caller side's sudden rise (its last `onsetFrames` frames) is the bot's echo: it sits where the
   * learned path puts the bot's audio, frame by frame.
   */
  isEchoOnset(onsetFrames: number): boolean {
    return this.followsPath(Math.max(1, Math.min(onsetFrames, this.learnFrames)));
  }

  /** Whether the last 200 ms of caller audio (speech the VAD found over the bot) are the bot's echo. */
  isEcho(): boolean {
    return this.followsPath(SPEECH_WINDOW_FRAMES);
  }

  /**
   * Whether the newest caller frames are the bot's echo and nothing else, so the recognizer need not decode them.
   * False from the first frame louder than the path predicts (the caller talking over the bot), and wherever the
   * path carried too little of the bot's audio to explain the sound.
   */
  isEchoFrame(): boolean {
    const path = this.learned;
    if (!path || this.louderThanPath(1, path)) return false;
    // Over the whole memory (about 1.3 s): pauses between a prompt's sentences stay echo while nobody talks.
    for (let i = 1; i + path.delayFrames < this.size; i++) {
      if (this.botTalking[this.slot(i + path.delayFrames)] === 1) return true;
    }
    return false;
  }

  /**
   * Whether the caller frame `framesAgo` is louder than the path returns of the bot's frame at its delay: someone
   * talks on top of the echo. Where the bot was quiet the path returns at most what it returns of the quietest
   * talking frame, so a caller starting in a gap between the bot's words is caught as well.
   */
  private louderThanPath(framesAgo: number, path: EchoPath): boolean {
    const at = this.slot(framesAgo + path.delayFrames);
    const botDb = this.botTalking[at] === 1 ? this.botDb[at]! : BOT_TALKING_DB;
    return this.callerDb[this.slot(framesAgo)]! > botDb - path.lossDb + this.tolerance;
  }

  private followsPath(frames: number): boolean {
    const path = this.learned;
    if (!path) return false;
    let talking = 0;
    for (let i = 1; i <= frames; i++) {
      if (this.botTalking[this.slot(i + path.delayFrames)] !== 1) continue;
      talking++;
      if (this.louderThanPath(i, path)) return false;
    }
    // Sound while the path carried none of the bot's audio cannot be its echo.
    return talking >= Math.ceil(frames / 2);
  }

  /** Finds the delay at which the caller side's envelope follows the bot's, over the last second of bot talk. */
  private learn(): void {
    let best: EchoPath | undefined;
    for (let delay = 0; delay <= this.maxDelay; delay++) {
      let n = 0;
      let lossSum = 0;
      for (let i = 1; i + delay < this.size && i <= this.learnFrames; i++) {
        const at = this.slot(i + delay);
        if (this.botTalking[at] !== 1) continue;
        this.xs[n] = this.botDb[at]!;
        this.ys[n] = this.callerDb[this.slot(i)]!;
        lossSum += this.xs[n]! - this.ys[n]!;
        n++;
      }
      if (n < this.learnFrames / 2) continue;
      const loss = lossSum / n;
      if (loss < MIN_ECHO_RETURN_LOSS_DB || loss > MAX_ECHO_RETURN_LOSS_DB) continue;
      const r = pearson(this.xs, this.ys, n);
      if (r >= this.minCorrelation && (!best || r > best.correlation)) best = { delayFrames: delay, lossDb: loss, correlation: r };
    }
    // Keep a learned path through stretches that show none (the caller talking over the bot hides it).
    if (best) this.learned = best;
  }

  private slot(framesAgo: number): number {
    return (this.head - framesAgo + this.size * 2) % this.size;
  }
}

function meanSquare(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return pcm.length > 0 ? sum / pcm.length : 0;
}

function toDb(energy: number): number {
  return 10 * Math.log10(energy + 1);
}

function pearson(a: Float64Array, b: Float64Array, n: number): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0;
}
