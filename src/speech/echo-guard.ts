/**
 * Tells whether sound on the caller side while the bot talks is the bot's own prompt leaking back through the
 * PBX (hybrid echo, a speakerphone) rather than the caller talking over it.
 *
 * An echo path is close to linear and stable for the call: it returns the bot's audio delayed (tens to a few
 * hundred ms) and attenuated by a roughly constant echo return loss (ERL). So the guard *learns* the path: while
 * the bot talks (its greeting, where the caller usually listens), the caller side's energy envelope correlates
 * strongly with the bot's at one delay, and the level difference there is the ERL. With a path, sound that sits
 * where the path puts the bot's echo (same delay, about the same loss) is echo.
 *
 * Before a path is learned the guard cannot wait: the first rise of the greeting's echo comes a delay after the
 * bot starts, long before a second of bot talk has been seen, and holding the bot on it leaves nothing to learn
 * from. So until then it assumes the strongest echo a line plausibly returns: the bot's loudest frame over the
 * whole delay range, `defaultLossDb` down. Only caller sound louder than that is speech. The assumed loss rises as
 * the line shows its echo must be weaker: at the true delay the caller side is at least as loud as the echo, so the
 * mean level difference to the bot (the least over all delays, less a margin) is a lower bound on the ERL. On a line
 * without echo (most calls: the network cancels it) that bound reaches the bot-to-line-noise distance within the
 * first second of bot talk, and from then on any caller sound above the line noise is a barge-in, as before.
 *
 * Works on per-frame energies only (one number per 20 ms, in preallocated rings), so it costs next to nothing and
 * allocates nothing on the frame path.
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
  /**
   * Caller frames (and the bot frames they were matched with) kept for judging an utterance once a path is learned,
   * default 850 (17 s: the longest utterance the endpointer allows by default, 15 s, and its wait). The greeting's
   * echo can run on as one utterance for seconds before the path that shows it was echo is learned.
   */
  historyFrames?: number;
  /**
   * Echo return loss assumed before the line has shown a path or a bound, dB (default 6: the strongest echo a
   * telephone hybrid is allowed to return, G.168; typical lines are 6-30 dB).
   */
  defaultLossDb?: number;
  /**
   * Keep the samples of bot frames this long too, so `matchedBotFrame` gives the frame matched with each caller
   * frame (the echo canceller's reference, paired exactly as the guard pairs them). Off by default.
   */
  frameSamples?: number;
}

/** Only frames where the bot clearly talks (above about -35 dBFS) say anything about an echo path. */
const BOT_TALKING_DB = 10 * Math.log10(32768 * 32768) - 35;
const BOT_TALKING_ENERGY = Math.pow(10, BOT_TALKING_DB / 10);
/** The strongest echo a telephone hybrid may return (G.168), and the weakest worth the name. */
const MIN_ECHO_RETURN_LOSS_DB = 6;
const MAX_ECHO_RETURN_LOSS_DB = 60;
/** A path measured a little under the minimum is still one: the line noise adds to the echo it returns. */
const MIN_MEASURED_LOSS_DB = 3;
/**
 * The line's noise floor falls at once to a quieter caller frame and rises by at most this much per frame (2.5 dB a
 * second: a caller's syllables never lift it, their gaps pull it back down). The caller side is the echo *plus*
 * this noise, so a frame within NOISE_HEADROOM_DB of the floor is never taken for someone talking over the echo,
 * however weak the path.
 */
const NOISE_RISE_DB = 0.05;
const NOISE_HEADROOM_DB = 6;
/** Caller frames before the floor is trusted: a caller talking from the call's first frame is not line noise. */
const NOISE_SETTLE_FRAMES = 25;
/** Frames examined when the VAD (not the onset detector) reports speech over the bot. */
const SPEECH_WINDOW_FRAMES = 10;
/** The path is looked for every this many caller frames while the bot talks... */
const LEARN_EVERY_FRAMES = 5;
/** ...and, once learned, re-estimated every this many (half a second: a path is stable for the call). */
const RELEARN_EVERY_FRAMES = 25;
/**
 * Bot and caller frames reach the server on their own 20 ms clocks, so the echo of one bot frame lands a frame
 * early or late now and then: a learned path takes the loudest bot frame this many frames either side of its delay.
 */
const DELAY_JITTER_FRAMES = 2;
/** A median absolute deviation times this reads as a standard deviation (for normally spread values). */
const MAD_TO_SIGMA = 1.4826;
/** The second of bot talk a path is learned over is gathered from up to this many seconds back. */
const LEARN_LOOKBACK_FACTOR = 3;
/**
 * The most the level differences may stray from their middle on a path, dB (`measureDifferences`). Measured with
 * bench/echo-paths.ts (no talker over the bot taken for a path at 2 or 2.5 dB, one of 576 at 3 dB; echo lines
 * learned alike at all three) and on the frame levels of the echo-line engine test under load
 * (test/fixtures/echo-line-under-load: every path learned as soon as with no limit, but one 10 frames later).
 */
const MAX_SPREAD_DB = 2.5;
/** A window may move a learned path only if it shows the new one about as clearly (correlation) as the old. */
const RELEARN_MARGIN = 0.05;
/** Bot frames waiting for their caller frame, at most (160 ms). */
const PENDING_BOT_FRAMES = 8;
/** Bot-talking frames (at every delay) that the lower bound on the loss is taken over: 200 ms of bot talk. */
const MIN_BOUND_FRAMES = 10;
/** Taken off the measured bound: frames straddling a syllable's onset return less of the bot than its level says. */
const BOUND_MARGIN_DB = 3;
/**
 * Before a path is learned, how far a caller frame may sit above the assumed strongest echo and still be echo, dB.
 * Small: the assumed echo is already the loudest bot frame over the whole delay range.
 */
const UNLEARNED_TOLERANCE_DB = 3;

/** Judging a past utterance on a learned path: at most this many consecutive frames (80 ms) may be louder... */
const MAX_LOUDER_RUN_FRAMES = 4;
/** ...and at most this share of all its frames. */
const MAX_LOUDER_SHARE = 0.1;

export interface EchoPath {
  delayFrames: number;
  lossDb: number;
  correlation: number;
  /** How far the level differences stray from their middle where the echo clears the noise, dB (a robust spread). */
  spreadDb: number;
}

export class EchoGuard {
  private readonly botDb: Float32Array;
  private readonly callerDb: Float32Array;
  private readonly botTalking: Uint8Array;
  private readonly size: number;
  private readonly maxDelay: number;
  private readonly learnFrames: number;
  private readonly minCorrelation: number;
  private readonly tolerance: number;
  /** Index of the next slot; both rings advance together on caller frames (the call's clock). */
  private head = 0;
  private frames = 0;
  /** Bot frames (their energies) not yet matched with a caller frame, oldest first: a small preallocated queue. */
  private readonly pendingBot = new Float64Array(PENDING_BOT_FRAMES);
  private pendingHead = 0;
  private pendingCount = 0;
  /** With `frameSamples`: the pending bot frames' samples (slot by slot as `pendingBot`) and the last one matched. */
  private readonly pendingSamples: Int16Array | undefined;
  private readonly matched: Int16Array | undefined;
  /** The caller side's noise floor, dB (energy); undefined before the first caller frame. */
  private noiseDb: number | undefined;
  private learned: EchoPath | undefined;
  /** The delays (frames) the echo may come back at: the learned one give or take jitter, or the whole range. */
  private nearest = 0;
  private farthest: number;
  /** The least echo return loss the line can have, as far as it has shown (until a path is learned). */
  private lossBound: number;
  private readonly defaultLoss: number;
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;
  /** Caller levels paired tolerantly (the louder of two frames), beside `ys`'s frame-exact ones. */
  private readonly ysTolerant: Float64Array;
  private readonly differences: Float64Array;
  /** `measureDifferences`'s answer. */
  private differenceMedian = 0;
  private differenceSpread = 0;
  /** Each pairing's correlation by delay in a window, and the path it shows: reused (`learn` runs on the frame path). */
  private readonly exactR: Float64Array;
  private readonly tolerantR: Float64Array;
  private readonly exact: EchoPath = { delayFrames: 0, lossDb: 0, correlation: 0, spreadDb: 0 };
  private readonly tolerant: EchoPath = { delayFrames: 0, lossDb: 0, correlation: 0, spreadDb: 0 };

  constructor(opts: EchoGuardOptions = {}) {
    this.maxDelay = opts.maxDelayFrames ?? 15;
    this.learnFrames = opts.learnFrames ?? 50;
    this.size = this.maxDelay + Math.max(this.learnFrames, opts.historyFrames ?? 850) + 1;
    this.farthest = this.maxDelay;
    this.botDb = new Float32Array(this.size);
    this.callerDb = new Float32Array(this.size);
    this.botTalking = new Uint8Array(this.size);
    this.minCorrelation = opts.minCorrelation ?? 0.7;
    this.tolerance = opts.lossToleranceDb ?? 6;
    this.defaultLoss = opts.defaultLossDb ?? MIN_ECHO_RETURN_LOSS_DB;
    this.lossBound = this.defaultLoss;
    this.xs = new Float64Array(this.learnFrames);
    this.ys = new Float64Array(this.learnFrames);
    this.ysTolerant = new Float64Array(this.learnFrames);
    this.differences = new Float64Array(this.learnFrames);
    this.exactR = new Float64Array(this.maxDelay + 1);
    this.tolerantR = new Float64Array(this.maxDelay + 1);
    if (opts.frameSamples) {
      this.pendingSamples = new Int16Array(PENDING_BOT_FRAMES * opts.frameSamples);
      this.matched = new Int16Array(opts.frameSamples);
    }
  }

  /**
   * With `frameSamples`: the bot frame matched with the newest caller frame (silence when none was waiting, or a
   * frame of another length). The buffer is reused by the next caller frame.
   */
  get matchedBotFrame(): Int16Array | undefined {
    return this.matched;
  }

  /** The echo path learned so far, if the caller side has shown one. */
  get path(): Readonly<EchoPath> | undefined {
    return this.learned;
  }

  /**
   * The echo return loss the guard works with, dB: the learned path's, or until then the least the line can have
   * (`defaultLossDb`, raised as the caller side shows its echo is weaker).
   */
  get assumedLossDb(): number {
    return this.learned ? this.learned.lossDb : this.lossBound;
  }

  /** A bot frame left on the wire. */
  observeBot(pcm: Int16Array): void {
    // Bot and caller frames tick at the same 20 ms rate but not in lockstep: two bot frames can fall between two
    // caller frames and none between the next two. The phone plays them one per tick, in order, so the guard
    // matches them one per caller frame, in order. A backlog beyond the queue was a stall: its oldest frame goes.
    if (this.pendingCount === PENDING_BOT_FRAMES) {
      this.pendingHead = (this.pendingHead + 1) % PENDING_BOT_FRAMES;
      this.pendingCount--;
    }
    const at = (this.pendingHead + this.pendingCount) % PENDING_BOT_FRAMES;
    this.pendingBot[at] = meanSquare(pcm);
    if (this.pendingSamples && this.matched) {
      const n = this.matched.length;
      if (pcm.length === n) this.pendingSamples.set(pcm, at * n);
      else this.pendingSamples.fill(0, at * n, (at + 1) * n);
    }
    this.pendingCount++;
  }

  /** A caller frame arrived. */
  observeCaller(pcm: Int16Array): void {
    let bot = 0;
    if (this.pendingCount > 0) {
      bot = this.pendingBot[this.pendingHead]!;
      if (this.pendingSamples && this.matched) {
        const n = this.matched.length;
        const from = this.pendingHead * n;
        for (let i = 0; i < n; i++) this.matched[i] = this.pendingSamples[from + i]!;
      }
      this.pendingHead = (this.pendingHead + 1) % PENDING_BOT_FRAMES;
      this.pendingCount--;
    } else this.matched?.fill(0);
    const callerDb = toDb(meanSquare(pcm));
    this.noiseDb = this.noiseDb === undefined || callerDb < this.noiseDb ? callerDb : Math.min(callerDb, this.noiseDb + NOISE_RISE_DB);
    this.callerDb[this.head] = callerDb;
    this.botDb[this.head] = toDb(bot);
    this.botTalking[this.head] = bot > BOT_TALKING_ENERGY ? 1 : 0;
    this.head = (this.head + 1) % this.size;
    this.frames++;
    if (this.frames % (this.learned ? RELEARN_EVERY_FRAMES : LEARN_EVERY_FRAMES) === 0 && this.botTalking[this.slot(1)] === 1) this.learn();
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
   * Whether the newest caller frame is louder than the bot's echo can be (and than the line's noise): someone talks.
   * Unlike `!isEchoFrame()`, false for quiet frames where the bot said nothing the path could carry.
   */
  isOverEcho(): boolean {
    return this.louderThanEcho(1);
  }

  /**
   * Whether the newest caller frame is the bot's echo: true only on a learned path (the caller side has been seen to
   * follow the bot's audio: correlation evidence), false from the first frame louder than any echo (the caller
   * talking over the bot) and where nothing the bot said could explain the sound, undefined before a path is learned
   * for a frame the assumed strongest echo could explain. Over the learning window (about 1.3 s): pauses between a
   * prompt's sentences stay echo while nobody talks.
   */
  echoVerdict(): boolean | undefined {
    if (this.louderThanEcho(1) || !this.botTalkedWithin(1 + this.nearest, this.maxDelay + this.learnFrames)) return false;
    return this.learned ? true : undefined;
  }

  /**
   * Whether the newest caller frame is the bot's echo and nothing else on a learned path, so the recognizer need not
   * decode it. Never on the assumption alone: that may be a quiet caller talking over the greeting.
   */
  isEchoFrame(): boolean {
    return this.echoVerdict() === true;
  }

  /**
   * Whether the caller frame `framesAgo` is louder than the echo can be: the loudest bot frame the path may have
   * carried to it (at the learned delay, give or take the jitter of frames on the wire; before a path is learned,
   * anywhere in the delay range) less the loss. Where the bot was quiet the path returns at most what it returns
   * of the quietest talking frame, so a caller starting in a gap between the bot's words is caught as well.
   */
  private louderThanEcho(framesAgo: number): boolean {
    let botDb = BOT_TALKING_DB;
    for (let d = this.nearest; d <= this.farthest && framesAgo + d < this.size; d++) {
      const at = this.slot(framesAgo + d);
      if (this.botTalking[at] === 1 && this.botDb[at]! > botDb) botDb = this.botDb[at]!;
    }
    const echoDb = botDb - (this.learned ? this.learned.lossDb - this.tolerance : this.lossBound - UNLEARNED_TOLERANCE_DB);
    const callerDb = this.callerDb[this.slot(framesAgo)]!;
    if (callerDb <= echoDb) return false;
    // The caller side is the echo plus the line's noise: within the noise's own spread of its floor is no talker.
    return this.frames <= NOISE_SETTLE_FRAMES || this.noiseDb === undefined || callerDb > this.noiseDb + NOISE_HEADROOM_DB;
  }

  /** Whether the bot talked in any of the frames `from` to `to` frames before the newest caller frame. */
  private botTalkedWithin(from: number, to: number): boolean {
    for (let i = from; i <= to && i < this.size; i++) if (this.botTalking[this.slot(i)] === 1) return true;
    return false;
  }

  /**
   * Once a path is learned: whether the caller frames from `fromFramesAgo` back to `toFramesAgo` back (an utterance
   * heard before the path was, or one that held the bot) followed it. true: echo; false: not; undefined with no path
   * yet, or when those frames have left the guard's history (`historyFrames`), so nothing shows it either way.
   * A few frames louder than the path allows do not make it speech: on a loaded machine bot and caller frames reach
   * the server out of step now and then, and a syllable of the echo then rises a frame or two before the bot frame
   * it came from is matched. A talker over the echo is louder for whole syllables (well over 80 ms).
   */
  wasEcho(fromFramesAgo: number, toFramesAgo: number): boolean | undefined {
    if (!this.learned || toFramesAgo < 1 || toFramesAgo > fromFramesAgo || fromFramesAgo + this.farthest >= this.size) return undefined;
    const frames = fromFramesAgo - toFramesAgo + 1;
    let talking = 0;
    let louder = 0;
    let louderRun = 0;
    for (let i = toFramesAgo; i <= fromFramesAgo; i++) {
      if (this.louderThanEcho(i)) {
        louder++;
        if (++louderRun > MAX_LOUDER_RUN_FRAMES) return false;
      } else louderRun = 0;
      if (this.botTalkedWithin(i + this.nearest, i + this.farthest)) talking++;
    }
    return louder <= frames * MAX_LOUDER_SHARE && talking >= Math.ceil(frames / 2);
  }

  /** No frame louder than the echo can be, and the bot talking where the path takes it from in most of them. */
  private followsPath(frames: number): boolean {
    let talking = 0;
    for (let i = 1; i <= frames; i++) {
      if (this.louderThanEcho(i)) return false;
      if (this.botTalkedWithin(i + this.nearest, i + this.farthest)) talking++;
    }
    // Sound while the path carried none of the bot's audio cannot be its echo.
    return talking >= Math.ceil(frames / 2);
  }

  /**
   * Finds the delay at which the caller side's envelope follows the bot's, over the last second of bot talk. With
   * none, raises the lower bound on the loss: at the echo's true delay each caller frame is at least as loud as
   * the echo, so the mean level difference there is at most the loss; not knowing the delay, the least over all.
   *
   * Two pairings of bot and caller frames are read. Frame-exact pairs tell the delay to the frame and the loss to a
   * fraction of a dB, where frames reach the server in step. On a busy server they may not: the pacer gets the
   * prompt out in clumps of a few frames and the echo of a clump lands a frame early or late, so exact pairs put a
   * clump's edge against the line's noise (a 30 dB outlier) and the path never shows (the echo-line engine test
   * under load: correlation 0.3-0.6 for 4 s). So each bot frame is also paired with the louder of the two caller
   * frames its echo can land in (at the delay, or a frame later), which shows such a path; it is used only where
   * the exact pairs show no path. At the true delay the louder of two frames is still at least the echo, so the
   * bound is taken from it and holds either way (its mean reads a loss 1-4 dB low on syllables: a path's loss is
   * the median difference instead, see `measureDifferences`). For the same reason the second of bot talk is gathered from up to LEARN_LOOKBACK_FACTOR seconds back: a
   * choppy prompt talks in under half of the last 50 frames.
   */
  private learn(): void {
    let leastLoss = Infinity;
    const lookback = Math.min(this.learnFrames * LEARN_LOOKBACK_FACTOR, this.size - this.maxDelay - 1, this.frames);
    for (let delay = 0; delay <= this.maxDelay; delay++) {
      this.exactR[delay] = -1;
      this.tolerantR[delay] = -1;
      const n = this.gather(delay, lookback);
      if (n < MIN_BOUND_FRAMES) {
        // Too little bot talk seen at this delay to bound the loss there (nor, then, at all).
        leastLoss = -Infinity;
        continue;
      }
      let exactSum = 0;
      let tolerantSum = 0;
      for (let i = 0; i < n; i++) {
        exactSum += this.xs[i]! - this.ys[i]!;
        tolerantSum += this.xs[i]! - this.ysTolerant[i]!;
      }
      if (tolerantSum / n < leastLoss) leastLoss = tolerantSum / n;
      if (n < this.learnFrames / 2) continue;
      if (plausibleLoss(exactSum / n)) this.exactR[delay] = pearson(this.xs, this.ys, n);
      if (plausibleLoss(tolerantSum / n)) this.tolerantR[delay] = pearson(this.xs, this.ysTolerant, n);
    }
    const found = this.pick(this.exact, this.exactR, false, lookback) ?? this.pick(this.tolerant, this.tolerantR, true, lookback);
    // The path is stable for the call: keep it through stretches that show none, and through windows that show
    // another less clearly than it was shown (the caller talking over the bot, frames arriving out of step on a
    // busy machine: the bench saw a 100 ms path replaced by a 280 ms one, 22 dB down, that let the echo through).
    const current = this.learned;
    if (found && (!current || found.correlation >= current.correlation - RELEARN_MARGIN)) {
      // One object for the call, updated in place: this runs on the frame path.
      const path = (this.learned ??= { delayFrames: 0, lossDb: 0, correlation: 0, spreadDb: 0 });
      path.delayFrames = found.delayFrames;
      path.lossDb = found.lossDb;
      path.correlation = found.correlation;
      path.spreadDb = found.spreadDb;
      this.nearest = Math.max(0, found.delayFrames - DELAY_JITTER_FRAMES);
      // A tolerant path was looked for at its delay and a frame later.
      this.farthest = Math.min(this.maxDelay, found.delayFrames + (found === this.tolerant ? 1 : 0) + DELAY_JITTER_FRAMES);
    }
    // The path is stable for the call, so the bound only rises (the caller talking over the bot lowers a window's).
    else if (leastLoss - BOUND_MARGIN_DB > this.lossBound) this.lossBound = Math.min(MAX_ECHO_RETURN_LOSS_DB, leastLoss - BOUND_MARGIN_DB);
  }

  /**
   * The pairs at `delay` over the last second of bot talk (gathered from up to `lookback` frames back): bot levels
   * into `xs`, the caller frame at the delay into `ys`, the louder of it and the next caller frame into `ysTolerant`.
   * Returns how many.
   */
  private gather(delay: number, lookback: number): number {
    let n = 0;
    for (let i = 1; i <= lookback && n < this.learnFrames; i++) {
      const at = this.slot(i + delay);
      if (this.botTalking[at] !== 1) continue;
      const caller = this.callerDb[this.slot(i)]!;
      // (The newest caller frame has no later one yet.)
      const later = i > 1 ? this.callerDb[this.slot(i - 1)]! : caller;
      this.xs[n] = this.botDb[at]!;
      this.ys[n] = caller;
      this.ysTolerant[n] = later > caller ? later : caller;
      n++;
    }
    return n;
  }

  /**
   * The delay of one pairing (`correlations` by delay, -1 where none was taken) that shows the clearest path and
   * holds one level difference, into `best`; undefined if none does. An echo is linear: the caller side sits the
   * same loss under the bot frame after frame. Someone talking over the bot (a backchannel, a voice in the room)
   * can follow its syllables by chance for a second, but not at one level difference. Clearest first, so that the
   * spread is usually worked out once.
   */
  private pick(best: EchoPath, correlations: Float64Array, tolerant: boolean, lookback: number): EchoPath | undefined {
    const ys = tolerant ? this.ysTolerant : this.ys;
    for (;;) {
      let delay = -1;
      for (let d = 0; d <= this.maxDelay; d++) if (correlations[d]! >= this.minCorrelation && (delay < 0 || correlations[d]! > correlations[delay]!)) delay = d;
      if (delay < 0) return undefined;
      const n = this.gather(delay, lookback);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += this.xs[i]! - ys[i]!;
      this.measureDifferences(n, ys, sum / n);
      if (this.differenceSpread <= MAX_SPREAD_DB) {
        best.delayFrames = delay;
        best.lossDb = this.differenceMedian;
        best.correlation = correlations[delay]!;
        best.spreadDb = this.differenceSpread;
        return best;
      }
      correlations[delay] = -1;
    }
  }

  /**
   * The level differences between `xs` and `ys` over the pairs where an echo `loss` down would clear the line's noise
   * (below it the noise, not the path, sets the caller's level), into `differenceMedian` and `differenceSpread`: their
   * median, and the median absolute deviation from it scaled to read as a standard deviation. Medians, so that the
   * few frames a choppy playout pairs wrongly do not count: on the captured calls (test/fixtures/echo-line-under-load)
   * standard deviations of true paths were 4-7 dB early on, median deviations under 2.5; and the mean loss of a
   * tolerant pairing read up to 2 dB low on the bench's jittered lines, the median within 0.6 dB. With fewer than
   * MIN_BOUND_FRAMES pairs clear of the noise the mean `loss` stands and the spread is 0: such a path is too weak to
   * hide a talker.
   */
  private measureDifferences(n: number, ys: Float64Array, loss: number): void {
    const floor = (this.noiseDb ?? -Infinity) + NOISE_HEADROOM_DB;
    const d = this.differences;
    let k = 0;
    for (let i = 0; i < n; i++) if (this.xs[i]! - loss > floor) d[k++] = this.xs[i]! - ys[i]!;
    if (k < MIN_BOUND_FRAMES) {
      this.differenceMedian = loss;
      this.differenceSpread = 0;
      return;
    }
    sortPrefix(d, k);
    const median = d[k >> 1]!;
    for (let i = 0; i < k; i++) d[i] = Math.abs(d[i]! - median);
    sortPrefix(d, k);
    this.differenceMedian = median;
    this.differenceSpread = MAD_TO_SIGMA * d[k >> 1]!;
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

/** Sorts the first `n` values of `a` in place (n is at most a window of frames: insertion sort, no allocation). */
function sortPrefix(a: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

/** A measured loss a telephone line can have (a little under the minimum: the line noise adds to the echo). */
function plausibleLoss(lossDb: number): boolean {
  return lossDb >= MIN_MEASURED_LOSS_DB && lossDb <= MAX_ECHO_RETURN_LOSS_DB;
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
