/**
 * Tells whether what the VAD calls caller speech is just the bot's own prompt leaking back through the PBX
 * (hybrid echo, a speakerphone). An echo path is close to linear: it returns the bot's audio delayed (tens to a
 * few hundred ms) and attenuated by a roughly constant echo return loss (ERL, typically 6-30 dB). So at the right
 * delay the caller side sits a *constant* number of dB under the bot, frame after frame. A caller talking over
 * the bot, however quiet, has an envelope of their own: the level difference to the bot then swings by many dB.
 *
 * Works on per-frame energies only (one number per 20 ms), so it costs nothing on the frame path.
 */
export interface EchoGuardOptions {
  /** Longest echo delay considered, in frames (default 15 = 300 ms). */
  maxDelayFrames?: number;
  /** Caller frames examined when deciding (default 10 = 200 ms). */
  windowFrames?: number;
  /** Caller side must be at least this many dB under the delayed bot on average to count as echo (default 6). */
  minEchoReturnLossDb?: number;
  /** Largest spread (standard deviation, dB) of the caller-to-bot level difference that is still echo (default 3). */
  maxLossSpreadDb?: number;
}

/**
 * Only frames where the bot is clearly talking (above about -35 dBFS) take part: against a bot fading in or out
 * near the noise floor, line noise on the caller side would show a 'steady loss' of its own and pass for echo.
 */
const BOT_TALKING_ENERGY = 32768 * 32768 * Math.pow(10, -35 / 10);
/** Echo return loss beyond this is no echo worth the name (a four-wire or digital line). */
const MAX_ECHO_RETURN_LOSS_DB = 45;

export class EchoGuard {
  private readonly botEnergy: Float64Array;
  private readonly callerEnergy: Float64Array;
  private readonly size: number;
  private readonly window: number;
  private readonly maxDelay: number;
  private readonly minLossDb: number;
  private readonly maxSpreadDb: number;
  /** Index of the next slot; both rings advance together on caller frames (the call's clock). */
  private head = 0;
  private pendingBotEnergy = 0;

  constructor(opts: EchoGuardOptions = {}) {
    this.maxDelay = opts.maxDelayFrames ?? 15;
    this.window = opts.windowFrames ?? 10;
    this.size = this.maxDelay + this.window + 1;
    this.botEnergy = new Float64Array(this.size);
    this.callerEnergy = new Float64Array(this.size);
    this.minLossDb = opts.minEchoReturnLossDb ?? 6;
    this.maxSpreadDb = opts.maxLossSpreadDb ?? 3;
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
    for (let delay = 0; delay <= this.maxDelay; delay++) {
      let n = 0;
      let sum = 0;
      let sumSq = 0;
      let possible = true;
      for (let i = 1; i <= this.window; i++) {
        const bot = this.botEnergy[this.slot(i + delay)]!;
        if (bot <= BOT_TALKING_ENERGY) continue;
        const lossDb = 10 * Math.log10((this.callerEnergy[this.slot(i)]! + 1) / bot);
        if (lossDb > -this.minLossDb / 2 || lossDb < -MAX_ECHO_RETURN_LOSS_DB) {
          possible = false;
          break;
        }
        n++;
        sum += lossDb;
        sumSq += lossDb * lossDb;
      }
      // Echo needs the bot to have been talking through most of the window at this delay.
      if (!possible || n < this.window / 2) continue;
      const mean = sum / n;
      const spread = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
      if (mean <= -this.minLossDb && spread <= this.maxSpreadDb) return true;
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
