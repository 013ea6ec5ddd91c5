/** The main thread's view of streaming ASR, whether decoding runs in a worker or inline. */
import type { DecodeCost } from './asr-batch-decoder.ts';

/** An utterance's final text, and the recognizer's mean token confidence when the model reports one. */
export interface AsrFinal {
  text: string;
  confidence?: number;
  /** The text is the second pass's (speech.asr.secondPass), not the streaming model's. */
  secondPass?: true;
}

/** An AsrFinal with only the fields that are set. */
export function asrFinal(text: string, confidence: number | undefined, secondPass: true | undefined): AsrFinal {
  return { text, ...(confidence === undefined ? {} : { confidence }), ...(secondPass ? { secondPass } : {}) };
}

/** `behind`: the recognizer had more of this call's audio to decode, so the text ends well before `atMs`. */
export type PartialListener = (text: string, atMs: number, behind?: boolean) => void;

export interface AsrService {
  /** Starts a stream for one call; `onPartial` hears that call's changing partial transcript. */
  open(id: number, onPartial: PartialListener): void;
  /** Queue 16 kHz float samples ending at `atMs` (copied; the caller may reuse the array). */
  feed(id: number, samples: Float32Array, atMs: number): void;
  /** End the utterance: flush with `paddingMs` of silence, decode at once, reset the stream, resolve the text. */
  finalize(id: number, paddingMs: number): Promise<AsrFinal>;
  close(id: number): void;
  /** Compute time / audio time over recent decode batches (0 before any). */
  realTimeFactor(): number;
  /** How far decoding is behind: smoothed age of the oldest audio fed and not decoded yet, ms (see AsrBacklog). */
  backlogMs(): number;
  /** Share of wall time spent decoding over the last 10 s (0..1; see AsrBusy). Optional: inline decoding has none. */
  busyFraction?(): number;
  shutdown(): Promise<void>;
}

/** Real-time factor over the last N decode batches. */
export class RealTimeFactorWindow {
  private readonly compute: Float64Array;
  private readonly audio: Float64Array;
  private next = 0;

  constructor(size = 64) {
    this.compute = new Float64Array(size);
    this.audio = new Float64Array(size);
  }

  add(cost: DecodeCost): void {
    this.compute[this.next] = cost.computeMs;
    this.audio[this.next] = cost.audioMs;
    this.next = (this.next + 1) % this.compute.length;
  }

  value(): number {
    let c = 0;
    let a = 0;
    for (let i = 0; i < this.compute.length; i++) {
      c += this.compute[i]!;
      a += this.audio[i]!;
    }
    return a > 0 ? c / a : 0;
  }
}

/**
 * Per-call audio waiting for the next decode tick (or, for the two-pass final, the utterance so far), in one growable
 * buffer so frames do not allocate.
 */
export class PendingAudio {
  private buf = new Float32Array(16000);
  private length = 0;
  atMs = 0;

  get size(): number {
    return this.length;
  }

  append(samples: Float32Array, atMs: number): void {
    if (this.length + samples.length > this.buf.length) {
      const grown = new Float32Array(Math.max(this.buf.length * 2, this.length + samples.length));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(samples, this.length);
    this.length += samples.length;
    this.atMs = atMs;
  }

  /** The queue emptied, its samples dropped. */
  clear(): void {
    this.length = 0;
  }

  /** A copy of the queued samples (transferable), and the queue emptied. */
  take(): Float32Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}
