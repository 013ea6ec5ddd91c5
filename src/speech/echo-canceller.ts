/**
 * Takes the bot's echo out of the caller side, so that a caller talking over it is heard without it.
 *
 * The echo guard (echo-guard.ts) only tells echo from talk, frame by frame; when the caller talks over the echo, the
 * recognizer still gets both voices. On a line whose network does not cancel echo that mix is what makes a barge-in
 * misheard. This is the classic line echo canceller of G.168, in its smallest form: a normalized-LMS adaptive filter
 * from the bot's audio to the caller side, whose output is the caller side less the echo the filter predicts.
 *
 * It does not search for the echo delay itself: that would take a filter as long as the longest delay (hundreds of
 * ms, thousands of taps per sample). The guard has learned the delay in frames; the filter spans one frame before
 * it to two after (the bot and caller 20 ms clocks drift by a frame now and then, and a hybrid smears the echo over
 * a few ms): 480 taps at 8 kHz, three passes over them per sample (two estimates and one update), and nothing while
 * the bot is silent or before the guard has learned a path (most lines: the network cancels echo).
 *
 * A filter adapting while the caller talks learns the caller as echo and diverges. Two defences, both needed (the
 * double-talk unit test fails without either): the Geigel test (a caller sample louder than the loudest bot sample
 * in the span can be after the path's loss) stops adaptation for the frame and a short hangover; and the filter
 * that adapts is not the one that cleans (see the end of `process`). A frame whose estimate is louder than the line
 * itself goes through as it came: the echo it predicts is not there.
 *
 * The bot frame matched with each caller frame comes from the guard (`EchoGuard.matchedBotFrame`), so the delay it
 * learned means the same here. Buffers are preallocated: nothing is allocated per frame.
 */
export interface EchoCancellerOptions {
  /** Samples per 20 ms frame on the leg (160 at 8 kHz, 320 at 16 kHz). */
  frameSamples: number;
  /** The longest echo delay the guard considers, in frames (its `maxDelayFrames`, default 15). */
  maxDelayFrames?: number;
  /** NLMS step size, 0-1 (default 0.4: converges in well under a second of bot speech, stays stable). */
  stepSize?: number;
}

/** The filter spans this many frames before the learned delay and after it. */
const SPAN_BEFORE_FRAMES = 1;
const SPAN_AFTER_FRAMES = 2;
/** Geigel margin: a caller sample this much above the strongest echo the path allows is the caller talking. */
const DOUBLE_TALK_MARGIN_DB = 6;
/** Adaptation stays off this many frames after double talk was seen (speech has gaps between its peaks). */
const DOUBLE_TALK_HANGOVER_FRAMES = 3;
/** The background filter's output must be this much quieter (energy ratio, 3 dB)... */
const BETTER_BY = 2;
/** ...for this many frames running before it becomes the foreground. */
const BETTER_FRAMES = 2;
/** A background filter this much louder than the foreground (6 dB) and than the input has diverged. */
const WORSE_BY = 4;
/** An estimate this much louder than the caller side (energy ratio, 3 dB) is of echo that is not there. */
const PHANTOM_BY = 2;
/** Below this reference energy per tap the bot is silent over the span: nothing to cancel or learn from. */
const SILENT_REFERENCE_PER_TAP = 4;

export class EchoCanceller {
  private readonly frame: number;
  private readonly taps: number;
  /** The foreground filter (cleans the caller side) and the background one (adapts); see `process`. */
  private readonly weights: Float32Array;
  private readonly background: Float32Array;
  private betterRun = 0;
  /** The bot's samples as matched with caller frames, newest last: enough for the longest delay plus the span. */
  private readonly reference: Float32Array;
  private readonly refSize: number;
  /** Index in `reference` of the next sample to be written. */
  private refHead = 0;
  private readonly step: number;
  private delayFrames = -1;
  private hangover = 0;
  private readonly out: Int16Array;
  /** The reference samples one frame is filtered over (taps + frame - 1), copied out of the ring per frame. */
  private readonly span: Float32Array;
  private readonly maxDelay: number;

  constructor(opts: EchoCancellerOptions) {
    this.frame = opts.frameSamples;
    this.taps = (SPAN_BEFORE_FRAMES + SPAN_AFTER_FRAMES) * this.frame;
    this.weights = new Float32Array(this.taps);
    this.background = new Float32Array(this.taps);
    this.maxDelay = opts.maxDelayFrames ?? 15;
    // The longest lag read is (maxDelay + SPAN_AFTER_FRAMES) frames back from the newest frame's end.
    this.refSize = (this.maxDelay + SPAN_AFTER_FRAMES + 2) * this.frame;
    this.reference = new Float32Array(this.refSize);
    this.step = opts.stepSize ?? 0.4;
    this.out = new Int16Array(this.frame);
    this.span = new Float32Array(this.taps + this.frame - 1);
  }

  /**
   * A caller frame and the bot frame matched with it (every caller frame must come, so the reference keeps time):
   * returns the frame with the echo taken out when a path is known (`delayFrames` from the guard), else the frame
   * itself. The returned buffer is reused by the next call; `lossDb` is the path's echo return loss (for the
   * double-talk test).
   */
  process(pcm: Int16Array, bot: Int16Array, path: { delayFrames: number; lossDb: number } | undefined): Int16Array {
    // The matched bot frame goes into the reference ring first: caller frame t's echo is in bot frames t-d.
    const now = this.refHead;
    const botFits = bot.length === this.frame;
    for (let i = 0; i < this.frame; i++) this.reference[now + i] = botFits ? bot[i]! : 0;
    this.refHead = (now + this.frame) % this.refSize;
    if (!path || pcm.length !== this.frame || path.delayFrames > this.maxDelay) return pcm;
    if (path.delayFrames !== this.delayFrames) {
      // A new delay moves the echo to other taps: what was learned there no longer applies.
      this.weights.fill(0);
      this.background.fill(0);
      this.betterRun = 0;
      this.delayFrames = path.delayFrames;
    }
    // The reference this frame needs, oldest first, in one straight run: sample i of the frame is filtered over
    // span[i .. i + taps - 1], whose newest sample lies `firstLag` samples before it.
    const firstLag = Math.max(0, path.delayFrames - SPAN_BEFORE_FRAMES) * this.frame;
    const span = this.span;
    const start = now - firstLag - this.taps + 1 + this.refSize * 2;
    let peak = 0;
    for (let m = 0; m < span.length; m++) {
      const x = this.reference[(start + m) % this.refSize]!;
      span[m] = x;
      const a = x < 0 ? -x : x;
      if (a > peak) peak = a;
    }
    // The bot was silent over the whole span: there is no echo to take out.
    if (peak === 0) return pcm;
    let callerPeak = 0;
    for (let i = 0; i < this.frame; i++) {
      const a = pcm[i]! < 0 ? -pcm[i]! : pcm[i]!;
      if (a > callerPeak) callerPeak = a;
    }
    if (callerPeak > Math.pow(10, (DOUBLE_TALK_MARGIN_DB - path.lossDb) / 20) * peak) this.hangover = DOUBLE_TALK_HANGOVER_FRAMES;
    const adapt = this.hangover === 0;
    if (this.hangover > 0) this.hangover--;
    const taps = this.taps;
    // Weights are kept oldest-lag first, matching span order: each estimate is a straight dot product.
    const bg = this.background;
    const fg = this.weights;
    let energy = 0;
    for (let m = 0; m < taps; m++) energy += span[m]! * span[m]!;
    let inEnergy = 0;
    let fgEnergy = 0;
    let bgEnergy = 0;
    let estimateEnergy = 0;
    for (let i = 0; i < this.frame; i++) {
      let fgEstimate = 0;
      let bgEstimate = 0;
      for (let m = 0; m < taps; m++) {
        const x = span[i + m]!;
        fgEstimate += fg[m]! * x;
        bgEstimate += bg[m]! * x;
      }
      const y = pcm[i]!;
      const fgErr = y - fgEstimate;
      const bgErr = y - bgEstimate;
      inEnergy += y * y;
      estimateEnergy += fgEstimate * fgEstimate;
      fgEnergy += fgErr * fgErr;
      bgEnergy += bgErr * bgErr;
      if (adapt && energy > SILENT_REFERENCE_PER_TAP * taps) {
        const g = (this.step * bgErr) / energy;
        for (let m = 0; m < taps; m++) bg[m]! += g * span[i + m]!;
      }
      this.out[i] = fgErr > 32767 ? 32767 : fgErr < -32768 ? -32768 : Math.round(fgErr);
      // The next sample's window: one newer sample in, the oldest out.
      if (i + 1 < this.frame) {
        const entering = span[i + taps]!;
        const leaving = span[i]!;
        energy += entering * entering - leaving * leaving;
        if (energy < 0) energy = 0;
      }
    }
    // Two filters (Ochiai's two-path canceller): the background one adapts on every frame the Geigel test lets
    // through, the foreground one is what the caller side is cleaned with. The background is copied forward only
    // after it has cancelled clearly better for a few frames running, which double talk the test missed never
    // does; a background driven off by double talk is reset to the foreground.
    if (bgEnergy * BETTER_BY < fgEnergy && bgEnergy * BETTER_BY < inEnergy) {
      if (++this.betterRun >= BETTER_FRAMES) {
        fg.set(bg);
        this.betterRun = 0;
      }
    } else {
      this.betterRun = 0;
      if (bgEnergy > fgEnergy * WORSE_BY && bgEnergy > inEnergy) bg.set(fg);
    }
    // An estimate louder than the whole line cannot be echo in it (bot audio the phone never played, dropped by a
    // barge-in's flush on its side, or a path that has just moved): the frame goes through as it came.
    if (estimateEnergy > inEnergy * PHANTOM_BY) return pcm;
    return this.out;
  }
}
