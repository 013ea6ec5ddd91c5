// Plays a stream of PCM16 frames gap-free: each frame is scheduled right after the previous one, a little ahead of
// the clock so network jitter does not cause gaps. Used by "talk to the bot" and listen-in.

/** Audio is scheduled this far ahead so network jitter does not cause gaps. */
const PLAYOUT_LEAD_S = 0.06;

export class PcmPlayer {
  constructor(context, sampleRate) {
    this.context = context;
    this.sampleRate = sampleRate;
    this.nextTime = 0;
    this.sources = new Set();
  }

  /** One frame of little-endian L16 at the player's rate. */
  play(bytes) {
    const view = new DataView(bytes);
    const samples = view.byteLength >> 1;
    if (samples === 0) return;
    const buffer = this.context.createBuffer(1, samples, this.sampleRate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples; i++) channel[i] = view.getInt16(i * 2, true) / 32768;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const now = this.context.currentTime;
    if (this.nextTime < now + 0.005) this.nextTime = now + PLAYOUT_LEAD_S;
    source.start(this.nextTime);
    this.nextTime += buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  /** Drops what is scheduled (a barge-in flushed the server's queue, or the listener stopped). */
  clear() {
    for (const source of this.sources) {
      try {
        source.stop();
      } catch {
        // Already stopped.
      }
    }
    this.sources.clear();
    this.nextTime = 0;
  }
}
