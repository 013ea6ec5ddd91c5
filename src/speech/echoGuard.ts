/**
 * Tells whether what the VAD calls caller speech is just the bot's own prompt leaking back through the PBX
 * (hybrid echo, a speakerphone). A telephone echo path returns the bot's audio attenuated (echo return loss is
 * typically 6-30 dB) and delayed (tens to a few hundred ms); a caller talking over the bot is about as loud as
 * the bot or louder. So we compare the caller side's recent energy with the bot's energy at every plausible
 * echo delay: if the caller side is far quieter than what we sent at some delay, it is echo.
 *
 * Works on per-frame energies only (one number per 20 ms), so it costs nothing on the frame path.
 */
export interface EchoGuardOptions {
  /** Longest echo delay considered, in frames (default 15 = 300 ms). */
  maxDelayFrames?: number;
  /** Caller frames examined when deciding (default 5 = 100 ms). */
  windowFrames?: number;
  /** Caller energy must stay this many dB under the delayed bot energy to count as echo (default 6). */
  minEchoReturnLossDb?: number;
}

const SILENT_BOT_ENERGY = 1e4; // mean square of PCM16; about -50 dBFS: the bot is not really talking

export class EchoGuard {
  private readonly botEnergy: Float64Array;
  private readonly callerEnergy: Float64Array;
  private readonly size: number;
  private readonly window: number;
  private readonly maxDelay: number;
  private readonly lossFactor: number;
  /** Index of the next slot; both rings advance together on caller frames (the call's clock). */
  private head = 0;
  private pendingBotEnergy = 0;

  constructor(opts: EchoGuardOptions = {}) {
    this.maxDelay = opts.maxDelayFrames ?? 15;
    this.window = opts.windowFrames ?? 5;
    this.size = this.maxDelay + this.window + 1;
    this.botEnergy = new Float64Array(this.size);
    this.callerEnergy = new Float64Array(this.size);
    this.lossFactor = Math.pow(10, -(opts.minEchoReturnLossDb ?? 6) / 10);
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
    let callerPeak = 0;
    for (let i = 1; i <= this.window; i++) {
      const e = this.callerEnergy[this.slot(i)]!;
      if (e > callerPeak) callerPeak = e;
    }
    for (let delay = 0; delay <= this.maxDelay; delay++) {
      // The bot energy that would have produced the caller window at this delay.
      let botPeak = 0;
      for (let i = 1; i <= this.window; i++) {
        const e = this.botEnergy[this.slot(i + delay)]!;
        if (e > botPeak) botPeak = e;
      }
      if (botPeak > SILENT_BOT_ENERGY && callerPeak < botPeak * this.lossFactor) return true;
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
