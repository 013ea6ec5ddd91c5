import { frameDbfs, GoertzelBank, strongestBin } from './goertzel.ts';

export interface BeepDetectorOptions {
  sampleRate: number;
  /** Shortest beep (default 120 ms). Voicemail beeps run 150 ms to 1.5 s. */
  minMs?: number;
  /** Share of the frame energy in the strongest bank frequency (default 0.7). */
  purity?: number;
  minDbfs?: number;
}

export interface BeepEvent {
  /** Audio-clock ms when the beep started. */
  startMs: number;
  /** When it was recognised (start + minMs) */
  atMs: number;
  frequency: number;
}

/** Beep frequencies searched: 400 Hz to 2 kHz in 50 Hz steps (a 20 ms Goertzel bin is 50 Hz wide). */
const BEEP_BANK: readonly number[] = Array.from({ length: 33 }, (_, i) => 400 + i * 50);

/**
 * A voicemail beep: one steady pure tone. Speech never holds more than ~70 % of a frame's energy in one 50 Hz
 * bin for 100+ ms; a sine does in every frame. The frequency may drift by one bin between frames.
 */
export class BeepDetector {
  private readonly bank: GoertzelBank;
  private readonly minFrames: number;
  private readonly purity: number;
  private readonly minDbfs: number;
  private readonly frameMsOf: (n: number) => number;
  private nowMs = 0;
  private runBin = -1;
  private runFrames = 0;
  private runStartMs = 0;
  private reported = false;

  constructor(opts: BeepDetectorOptions) {
    this.bank = new GoertzelBank(BEEP_BANK, opts.sampleRate);
    this.minFrames = Math.max(1, Math.round((opts.minMs ?? 120) / 20));
    this.purity = opts.purity ?? 0.7;
    this.minDbfs = opts.minDbfs ?? -40;
    this.frameMsOf = (n) => (n * 1000) / opts.sampleRate;
  }

  /** Feeds one frame; returns the beep once, when it has lasted `minMs`. */
  push(pcm: Int16Array): BeepEvent | undefined {
    const frameMs = this.frameMsOf(pcm.length);
    const bin = this.pureBin(pcm);
    let event: BeepEvent | undefined;
    if (bin >= 0 && this.runBin >= 0 && Math.abs(bin - this.runBin) <= 1) {
      this.runFrames++;
    } else {
      this.runFrames = bin >= 0 ? 1 : 0;
      this.runStartMs = this.nowMs;
      this.reported = false;
    }
    this.runBin = bin;
    this.nowMs += frameMs;
    if (this.runFrames >= this.minFrames && !this.reported) {
      this.reported = true;
      event = { startMs: this.runStartMs, atMs: this.nowMs, frequency: BEEP_BANK[bin]! };
    }
    return event;
  }

  private pureBin(pcm: Int16Array): number {
    const energy = this.bank.run(pcm);
    if (frameDbfs(energy, pcm.length) < this.minDbfs) return -1;
    const best = strongestBin(this.bank);
    if (best < 0) return -1;
    const bestPower = this.bank.power[best]!;
    // Neighbouring bins share a sine that falls between them: count the better neighbour too.
    const neighbour = Math.max(this.bank.power[best - 1] ?? 0, this.bank.power[best + 1] ?? 0);
    return bestPower + neighbour >= this.purity * energy ? best : -1;
  }
}
