/**
 * The SIP caller behind a PJSIP channel: what it says (8 kHz PCM, looping silence in between,
 * like SIPp's continuous RTP) and what it heard from the bot.
 */
export class CallerLine {
  private speech: Int16Array[] = [];
  private offset = 0;
  private readonly heardChunks: Int16Array[] = [];
  /** Frames the caller heard that carried bot audio (any non-zero sample). */
  heardAudioFrames = 0;
  /** performance.now() of the first 20 ms slot the bridge carried caller audio to the media leg: media is up. */
  firstSentAt: number | undefined;
  /** performance.now() of the first bot frame (silence too) the bridge handed the caller. */
  firstFrameAt: number | undefined;
  /** performance.now() of the first non-silent bot frame the caller heard. */
  firstHeardAt: number | undefined;
  /** performance.now() of the most recent non-silent bot frame. */
  lastHeardAt: number | undefined;
  /** performance.now() when the queued speech finished playing. */
  speechEndedAt: number | undefined;
  /**
   * A phone with silence suppression (or muted, or with dead media): while it has nothing to say it sends no RTP
   * at all, and then every Asterisk media leg delivers nothing either (captures silence-suppression-*).
   */
  silenceSuppression = false;
  /** 20 ms slots in which the caller sent no packet (silence suppression). */
  framesWithheld = 0;

  say(pcm8k: Int16Array): void {
    this.speech.push(pcm8k);
    this.speechEndedAt = undefined;
  }

  get speaking(): boolean {
    return this.speech.length > 0;
  }

  /**
   * Fill the next 20 ms of caller audio (160 samples at 8 kHz). Returns false when the caller sends no packet
   * for this slot (silence suppression while it has nothing to say).
   */
  readFrame(out: Int16Array): boolean {
    this.firstSentAt ??= performance.now();
    if (this.silenceSuppression && this.speech.length === 0) {
      this.framesWithheld++;
      return false;
    }
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
    return true;
  }

  /** One 20 ms frame of bot audio reached the caller (8 kHz). */
  hear(pcm8k: Int16Array): void {
    this.firstFrameAt ??= performance.now();
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
