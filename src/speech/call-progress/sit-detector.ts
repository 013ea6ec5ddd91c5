import type { CallProgressKind } from '../../core/index.ts';
import { frameDbfs, GoertzelBank, strongestBin } from './goertzel.ts';

/*
 * Special information tones (ITU-T E.180; the Bell/Telcordia encoding): three rising tone segments before a network
 * announcement. Segment 1 is 913.8 or 985.2 Hz, segment 2 1370.6 or 1428.5 Hz, segment 3 1776.7 Hz; segments 1 and
 * 2 are short (274 ms) or long (380 ms), segment 3 is long. The frequency and length of segments 1 and 2 name the
 * condition: intercept (IC: vacant number, changed number) and vacant code (VC) have a SHORT 1370.6 Hz second
 * segment; reorder (RO) and no circuit (NC) have a long or a 1428.5 Hz one. The published tables differ on the
 * finer codes but agree on that split, which is all a dialer needs: a vacant number is never dialled again
 * (`invalid_number`), a network condition is retried (`unreachable`). China's carriers announce in words without a
 * SIT; carriers elsewhere (and international gateways) put one in front of the announcement.
 */

const FREQS = [913.8, 985.2, 1370.6, 1428.5, 1776.7] as const;
/** Segment index (0, 1, 2) of each bank frequency, and whether it is the segment's high variant. */
const SEGMENT = [0, 0, 1, 1, 2] as const;
const HIGH = [false, true, false, true, false] as const;
/** Short 274 ms / long 380 ms, told apart at the middle; a segment outside 180-480 ms is not a SIT segment. */
const SHORT_LONG_SPLIT_MS = 327;
const MIN_SEGMENT_MS = 180;
const MAX_SEGMENT_MS = 480;
/** Frames that straddle two segments mix their energy and fail the purity test: this much gap is allowed. */
const MAX_GAP_MS = 60;

export interface SitEvent {
  /** What the SIT says about the number, as a call-progress verdict kind. */
  kind: Extract<CallProgressKind, 'invalid_number' | 'unreachable'>;
  /** IC/VC (vacant) or RO/NC (network): the broad class the encoding gives. */
  code: 'vacant' | 'network';
  /** Audio-clock ms when the third segment ended. */
  atMs: number;
  /** Evidence: each segment's frequency and length, e.g. `913.8/280 1370.6/280 1776.7/380`. */
  segments: string;
}

interface Run {
  /** Bank index of the dominant frequency, -1 for no tone. */
  bin: number;
  ms: number;
}

export interface SitDetectorOptions {
  sampleRate: number;
  /** Share of a frame's energy the strongest SIT frequency must hold (default 0.6). */
  purity?: number;
  /** Quietest tone frame (default -45 dBFS). */
  minDbfs?: number;
}

/** Frame by frame: which SIT frequency (if any) holds the frame; then runs matched against the three segments. */
export class SitDetector {
  private readonly bank: GoertzelBank;
  private readonly purity: number;
  private readonly minDbfs: number;
  private readonly sampleRate: number;
  private nowMs = 0;
  private current: Run = { bin: -1, ms: 0 };
  /** Completed tone runs (gaps shorter than MAX_GAP_MS dropped), newest last. */
  private readonly runs: Run[] = [];
  private gapMs = 0;
  private done = false;

  constructor(opts: SitDetectorOptions) {
    this.sampleRate = opts.sampleRate;
    this.bank = new GoertzelBank(FREQS, opts.sampleRate);
    this.purity = opts.purity ?? 0.6;
    this.minDbfs = opts.minDbfs ?? -45;
  }

  /** Feeds one frame; returns the SIT once its third segment has ended (once per detector). */
  push(pcm: Int16Array): SitEvent | undefined {
    if (this.done) return undefined;
    const frameMs = (pcm.length * 1000) / this.sampleRate;
    const bin = this.dominantBin(pcm);
    this.nowMs += frameMs;
    if (bin === this.current.bin) {
      this.current.ms += frameMs;
      if (bin < 0) this.gapMs += frameMs;
      // A long silence (or speech) ends any sequence under way.
      if (bin < 0 && this.gapMs > MAX_GAP_MS) this.runs.length = 0;
      return bin < 0 ? this.matchAfterLast() : undefined;
    }
    if (this.current.bin >= 0) this.runs.push(this.current);
    if (this.runs.length > 3) this.runs.shift();
    if (bin >= 0) this.gapMs = 0;
    this.current = { bin, ms: frameMs };
    if (bin < 0) this.gapMs = frameMs;
    const event = bin < 0 ? this.matchAfterLast() : undefined;
    return event;
  }

  private dominantBin(pcm: Int16Array): number {
    const energy = this.bank.run(pcm);
    if (frameDbfs(energy, pcm.length) < this.minDbfs) return -1;
    const best = strongestBin(this.bank);
    return best >= 0 && this.bank.power[best]! >= this.purity * energy ? best : -1;
  }

  /** The last three tone runs are segments 1, 2, 3 of a SIT, in order and of SIT lengths. */
  private matchAfterLast(): SitEvent | undefined {
    if (this.runs.length < 3) return undefined;
    const [a, b, c] = this.runs.slice(-3) as [Run, Run, Run];
    if (SEGMENT[a.bin] !== 0 || SEGMENT[b.bin] !== 1 || SEGMENT[c.bin] !== 2) return undefined;
    if (![a, b, c].every((r) => r.ms >= MIN_SEGMENT_MS && r.ms <= MAX_SEGMENT_MS)) return undefined;
    if (c.ms < SHORT_LONG_SPLIT_MS - 40) return undefined;
    this.done = true;
    const vacant = !HIGH[b.bin] && b.ms < SHORT_LONG_SPLIT_MS;
    const segments = [a, b, c].map((r) => `${FREQS[r.bin]}/${Math.round(r.ms)}`).join(' ');
    return { kind: vacant ? 'invalid_number' : 'unreachable', code: vacant ? 'vacant' : 'network', atMs: this.nowMs, segments };
  }
}
