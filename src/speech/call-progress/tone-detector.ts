import { frameDbfs, GoertzelBank } from './goertzel.ts';

/**
 * Call-progress tones by cadence. China uses one frequency for all of them (450 Hz) and tells them apart by
 * rhythm: ringback 1 s on / 4 s off, busy 350/350 ms, congestion 700/700 ms (YD/T 1277). Other plans
 * (425 Hz Europe, 440+480 / 480+620 Hz North America) are in the same bank so their tones are tones too.
 */
export type ProgressTone = 'ringback' | 'busy' | 'congestion';

export interface ToneDetectorOptions {
  sampleRate: number;
  /** Frequencies whose summed Goertzel power counts as "tone" (default 425, 440, 450, 480, 620 Hz). */
  frequencies?: readonly number[];
  /** Share of a frame's energy the tone frequencies must hold (default 0.6; speech and music stay far below). */
  purity?: number;
  /** Quietest tone frame (default -45 dBFS). */
  minDbfs?: number;
}

export interface ToneEvent {
  tone: ProgressTone;
  /** Audio-clock ms (frames fed x frame length) when the cadence was recognised. */
  atMs: number;
  /** Cadence measured, for evidence: `on/off ms`. */
  cadence: string;
}

interface CadenceRule {
  tone: ProgressTone;
  on: [number, number];
  off: [number, number];
  /** Complete on+off cycles needed. */
  cycles: number;
}

// Tolerances are wide because a 20 ms frame clock, jitter and the first partial burst all blur the edges.
const RULES: readonly CadenceRule[] = [
  { tone: 'busy', on: [250, 480], off: [250, 480], cycles: 2 },
  { tone: 'congestion', on: [560, 880], off: [560, 880], cycles: 2 },
  { tone: 'ringback', on: [800, 1300], off: [3000, 5000], cycles: 1 },
];

/** Frame-by-frame: is this 20 ms a progress tone; then runs of on/off matched against the cadences above. */
export class ToneDetector {
  private readonly bank: GoertzelBank;
  private readonly purity: number;
  private readonly minDbfs: number;
  private readonly sampleRate: number;
  private nowMs = 0;
  private on = false;
  private runStartMs = 0;
  /** Completed runs, newest last: [isTone, ms]. Short list: only the last few cycles matter. */
  private readonly runs: Array<[boolean, number]> = [];
  private toneFrames = 0;
  private lastEvent: ToneEvent | undefined;

  constructor(opts: ToneDetectorOptions) {
    this.sampleRate = opts.sampleRate;
    this.bank = new GoertzelBank(opts.frequencies ?? [425, 440, 450, 480, 620], opts.sampleRate);
    this.purity = opts.purity ?? 0.6;
    this.minDbfs = opts.minDbfs ?? -45;
  }

  /** Total ms of tone frames seen. */
  get toneMs(): number {
    return this.toneFrames * 20;
  }

  /** Feeds one frame; returns a tone event when a cadence completes at this frame. */
  push(pcm: Int16Array): ToneEvent | undefined {
    const frameMs = (pcm.length * 1000) / this.sampleRate;
    const isTone = this.isToneFrame(pcm);
    if (isTone) this.toneFrames++;
    let event: ToneEvent | undefined;
    if (isTone !== this.on) {
      this.runs.push([this.on, this.nowMs - this.runStartMs]);
      if (this.runs.length > 8) this.runs.shift();
      this.on = isTone;
      this.runStartMs = this.nowMs;
      event = this.match();
    }
    this.nowMs += frameMs;
    // A ringback's long off run only ends at the next tone burst; recognise it once the off run is long enough.
    if (!event && !this.on && this.nowMs - this.runStartMs >= 3000) event = this.matchOpenOff();
    if (event && this.lastEvent?.tone === event.tone && this.lastEvent.atMs >= event.atMs - 6000) return undefined;
    if (event) this.lastEvent = event;
    return event;
  }

  private isToneFrame(pcm: Int16Array): boolean {
    const energy = this.bank.run(pcm);
    if (frameDbfs(energy, pcm.length) < this.minDbfs) return false;
    let tone = 0;
    for (let k = 0; k < this.bank.power.length; k++) tone = Math.max(tone, this.bank.power[k]!);
    // Dual tones (440+480) split their energy: count the two strongest bins.
    let second = 0;
    for (let k = 0; k < this.bank.power.length; k++) {
      const p = this.bank.power[k]!;
      if (p < tone && p > second) second = p;
    }
    return tone + second >= this.purity * energy;
  }

  /** Looks at the completed runs ending now, walking back in (on, off) pairs from the newest completed off run. */
  private match(): ToneEvent | undefined {
    for (const rule of RULES) {
      let cycles = 0;
      let newest: [number, number] | undefined;
      let i = this.runs.length - 1;
      if (this.runs[i]?.[0] === true) i--;
      for (; i >= 1; i -= 2) {
        const off = this.runs[i]!;
        const on = this.runs[i - 1]!;
        if (off[0] || !on[0] || !within(on[1], rule.on) || !within(off[1], rule.off)) break;
        newest ??= [on[1], off[1]];
        cycles++;
      }
      if (cycles >= rule.cycles && newest) {
        return { tone: rule.tone, atMs: this.nowMs, cadence: `${Math.round(newest[0])}/${Math.round(newest[1])} ms` };
      }
    }
    return undefined;
  }

  /** A tone burst followed by a still-running off period of ringback length. */
  private matchOpenOff(): ToneEvent | undefined {
    const lastOn = this.runs[this.runs.length - 1];
    if (!lastOn || !lastOn[0]) return undefined;
    const rule = RULES.find((r) => r.tone === 'ringback')!;
    if (!within(lastOn[1], rule.on)) return undefined;
    return { tone: 'ringback', atMs: this.nowMs, cadence: `${Math.round(lastOn[1])}/${Math.round(this.nowMs - this.runStartMs)}+ ms` };
  }
}

function within(ms: number, [lo, hi]: [number, number]): boolean {
  return ms >= lo && ms <= hi;
}
