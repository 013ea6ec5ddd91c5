/**
 * The SIP caller behind a PJSIP channel: what it says (8 kHz PCM, looping silence in between,
 * like SIPp's continuous RTP) and what it heard from the bot.
 */
export class CallerLine {
  /**
   * A callee in early media sends RTP only while it plays something (the announcement, the ringback pcap):
   * the bridge then delivers no frames at all in between, as captured (early-media-*.jsonl).
   */
  rtpOnlyWhileSpeaking = false;
  private speech: Int16Array[] = [];
  private offset = 0;
  private readonly heardChunks: Int16Array[] = [];
  /** Frames the caller heard that carried bot audio (any non-zero sample). */
  heardAudioFrames = 0;
  /** performance.now() of the first non-silent bot frame the caller heard. */
  firstHeardAt: number | undefined;
  /** performance.now() of the most recent non-silent bot frame. */
  lastHeardAt: number | undefined;
  /** performance.now() when the queued speech finished playing. */
  speechEndedAt: number | undefined;

  say(pcm8k: Int16Array): void {
    this.speech.push(pcm8k);
    this.speechEndedAt = undefined;
  }

  get speaking(): boolean {
    return this.speech.length > 0;
  }

  /** Fill the next 20 ms of caller audio (160 samples at 8 kHz). */
  readFrame(out: Int16Array): void {
    let filled = 0;
    while (filled < out.length && this.speech.length > 0) {
      const current = this.speech[0];
      const take = Math.min(out.length - filled, current.length - this.offset);
      out.set(current.subarray(this.offset, this.offset + take), filled);
      filled += take;
      this.offset += take;
      if (this.offset >= current.length) {
        this.speech.shift();
        this.offset = 0;
        if (this.speech.length === 0) this.speechEndedAt = performance.now();
      }
    }
    if (filled < out.length) out.fill(0, filled);
  }

  /** One 20 ms frame of bot audio reached the caller (8 kHz). */
  hear(pcm8k: Int16Array): void {
    this.heardChunks.push(pcm8k.slice());
    let voiced = false;
    for (let i = 0; i < pcm8k.length; i++) {
      if (pcm8k[i] > 64 || pcm8k[i] < -64) {
        voiced = true;
        break;
      }
    }
    if (voiced) {
      this.heardAudioFrames++;
      const now = performance.now();
      this.firstHeardAt ??= now;
      this.lastHeardAt = now;
    }
  }

  heard(): Int16Array {
    const total = this.heardChunks.reduce((n, c) => n + c.length, 0);
    const out = new Int16Array(total);
    let at = 0;
    for (const c of this.heardChunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
