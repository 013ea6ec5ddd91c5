/**
 * A hybrid echo on the simulated line: what the phone plays of the bot comes back on the caller side `delayMs` later
 * and `lossDb` quieter, as on a line whose network does not cancel echo. Bot frames are played out one per 20 ms
 * tick in the order they came (a wire plays them in real time even when they arrive in a burst).
 */
export interface LineEchoOptions {
  /** How late the echo returns, ms (a 2-wire hybrid: tens to a few hundred). */
  delayMs: number;
  /** Echo return loss, dB (6-20 dB on lines without echo cancelling). */
  lossDb: number;
}

/** Bot frames waiting to be echoed, at most (2 s): a longer backlog would be a stalled wire, its oldest frames dropped. */
const MAX_QUEUED_FRAMES = 100;

export class LineEcho {
  private readonly scale: number;
  private readonly queue: { pcm: Int16Array; dueAt: number }[] = [];
  private readonly spare: Int16Array[] = [];
  private readonly out: Int16Array;

  constructor(
    private readonly opts: LineEchoOptions,
    frameSamples: number,
  ) {
    this.scale = Math.pow(10, -opts.lossDb / 20);
    this.out = new Int16Array(frameSamples);
  }

  /** A bot frame reached the phone at `at` (ms, performance.now()). */
  heard(pcm: Int16Array, at: number): void {
    if (this.queue.length >= MAX_QUEUED_FRAMES) this.spare.push(this.queue.shift()!.pcm);
    const copy = this.spare.pop() ?? new Int16Array(this.out.length);
    copy.fill(0);
    copy.set(pcm.subarray(0, copy.length));
    // Played right after the previous frame if it is still playing, else as it arrives.
    const last = this.queue.at(-1);
    const dueAt = Math.max(at + this.opts.delayMs, last ? last.dueAt + 20 : -Infinity);
    this.queue.push({ pcm: copy, dueAt });
  }

  /** The caller's frame with the echo due by `now` added (into a buffer of its own); the frame itself is not changed. */
  mix(frame: Int16Array, now: number): Int16Array {
    const head = this.queue[0];
    if (!head || head.dueAt > now) return frame;
    this.queue.shift();
    for (let i = 0; i < frame.length; i++) {
      const v = frame[i]! + head.pcm[i]! * this.scale;
      this.out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    this.spare.push(head.pcm);
    return this.out;
  }
}
