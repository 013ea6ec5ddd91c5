/**
 * Tells whether what the VAD calls caller speech is just the bot's own prompt leaking back through the PBX
 * (hybrid echo, a speakerphone). A telephone echo path returns the bot's audio attenuated (echo return loss is
 * typically 6-30 dB) and delayed (tens to a few hundred ms), so the caller side's energy envelope then follows
 * the bot's envelope at some delay, well below it. A caller talking over the bot has an envelope of their own,
 * whatever their level. So the test is: at some plausible delay, the caller side is quieter than the bot by the
 * echo return loss AND its envelope correlates with the bot's.
 *
 * Works on per-frame energies only (one number per 20 ms), so it costs nothing on the frame path.
 */
export interface EchoGuardOptions {
  /** Longest echo delay considered, in frames (default 15 = 300 ms). */
  maxDelayFrames?: number;
  /** Caller frames examined when deciding (default 10 = 200 ms). */
  windowFrames?: number;
  /** Caller energy must stay this many dB under the delayed bot energy to count as echo (default 6). */
  minEchoReturnLossDb?: number;
  /** Correlation of the log-energy envelopes needed to call it echo (default 0.7). */
  minCorrelation?: number;
}

const SILENT_BOT_ENERGY = 1e4; // mean square of PCM16; about -50 dBFS: the bot is not really talking
/** A flat bot envelope (a steady tone) carries no shape to correlate; then only a much quieter caller side is echo. */
const FLAT_ENVELOPE_VARIANCE = 0.05;
const FLAT_ENVELOPE_LOSS_DB = 15;
/** Echo return loss beyond this is no echo worth the name (a four-wire or digital line). */
const MAX_ECHO_RETURN_LOSS_DB = 45;
const MAX_LOSS_FACTOR = Math.pow(10, -MAX_ECHO_RETURN_LOSS_DB / 10);

export class EchoGuard {
  private readonly botEnergy: Float64Array;
  private readonly callerEnergy: Float64Array;
  private readonly size: number;
  private readonly window: number;
  private readonly maxDelay: number;
  private readonly lossFactor: number;
  private readonly flatLossFactor = Math.pow(10, -FLAT_ENVELOPE_LOSS_DB / 10);
  private readonly minCorrelation: number;
  private readonly callerLog: Float64Array;
  private readonly botLog: Float64Array;
  /** Index of the next slot; both rings advance together on caller frames (the call's clock). */
  private head = 0;
  private pendingBotEnergy = 0;

  constructor(opts: EchoGuardOptions = {}) {
    this.maxDelay = opts.maxDelayFrames ?? 15;
    this.window = opts.windowFrames ?? 10;
    this.size = this.maxDelay + this.window + 1;
    this.botEnergy = new Float64Array(this.size);
    this.callerEnergy = new Float64Array(this.size);
    this.callerLog = new Float64Array(this.window);
    this.botLog = new Float64Array(this.window);
    this.lossFactor = Math.pow(10, -(opts.minEchoReturnLossDb ?? 6) / 10);
    this.minCorrelation = opts.minCorrelation ?? 0.7;
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
    this.callerEnergy[this.head] = meanSquare(pcm);
    this.botEnergy[this.head] = this.pendingBotEnergy;
    this.pendingBotEnergy = 0;
    this.head = (this.head + 1) % this.size;
  }

  /** Whether the last `windowFrames` of caller audio are explained as echo of the bot's audio. */
  isEcho(): boolean {
    for (let i = 0; i < this.window; i++) this.callerLog[i] = Math.log10(this.callerEnergy[this.slot(i + 1)]! + 1);
    for (let delay = 0; delay <= this.maxDelay; delay++) {
      let botActive = false;
      let quietEnough = true;
      let flatQuietEnough = true;
      for (let i = 0; i < this.window; i++) {
        const bot = this.botEnergy[this.slot(i + 1 + delay)]!;
        const caller = this.callerEnergy[this.slot(i + 1)]!;
        this.botLog[i] = Math.log10(bot + 1);
        if (bot > SILENT_BOT_ENERGY) botActive = true;
        // Every caller frame must sit under its bot frame (allowing for near-silent frames on both sides).
        if (caller > bot * this.lossFactor + SILENT_BOT_ENERGY * this.lossFactor) quietEnough = false;
        // An echo path returns something whenever the bot talks: a dead-silent caller side while the bot was
        // loud (more than MAX_ECHO_RETURN_LOSS down) means no echo at this delay.
        if (bot > SILENT_BOT_ENERGY && caller < bot * MAX_LOSS_FACTOR) quietEnough = false;
        if (caller > bot * this.flatLossFactor + SILENT_BOT_ENERGY * this.flatLossFactor) flatQuietEnough = false;
      }
      if (!botActive || !quietEnough) continue;
      const { correlation, botVariance } = pearson(this.callerLog, this.botLog);
      if (botVariance < FLAT_ENVELOPE_VARIANCE) {
        if (flatQuietEnough) return true;
      } else if (correlation >= this.minCorrelation) return true;
    }
    return false;
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

function pearson(a: Float64Array, b: Float64Array): { correlation: number; botVariance: number } {
  const n = a.length;
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
  const correlation = va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0;
  return { correlation, botVariance: vb / n };
}
