import { type AudioLeg, samplesPerFrame } from '../types.ts';

/** One 20 ms step of a call on the caller-frame clock: what the caller said, what the bot played, and the two mixed. */
export type MixedFrameListener = (caller: Int16Array, bot: Int16Array, mixed: Int16Array) => void;

/**
 * Lines a leg's two directions up on the caller-frame clock: each 'frame' event is a 20 ms step, and 'played' bot
 * frames are laid down from the clock position onward. So overlaps (barge-in) come out as the caller heard them,
 * regardless of wall-clock jitter. The recorder writes its three WAVs from it; listen-in streams its mix.
 * The arrays handed to the listener are reused: copy them to keep them.
 */
export class LegMixer {
  private readonly frameSamples: number;
  /** Bot audio not yet matched with a caller frame; index 0 is the current clock position. */
  private readonly botAhead: Int16Array;
  private botAheadLength = 0;
  private readonly botFrame: Int16Array;
  private readonly mixFrame: Int16Array;
  private readonly silence: Int16Array;
  private attached = true;
  private readonly onFrame = (pcm: Int16Array): void => this.callerFrame(pcm);
  private readonly onPlayed = (pcm: Int16Array): void => this.botPlayed(pcm);

  /** `maxBotLeadMs`: bot audio allowed to run ahead of the caller clock before the caller side is taken as silent. */
  constructor(
    private readonly leg: AudioLeg,
    private readonly listener: MixedFrameListener,
    maxBotLeadMs = 1000,
  ) {
    this.frameSamples = samplesPerFrame(leg.sampleRate);
    const leadSamples = Math.ceil((maxBotLeadMs * leg.sampleRate) / 1000);
    this.botAhead = new Int16Array(leadSamples + this.frameSamples * 2);
    this.botFrame = new Int16Array(this.frameSamples);
    this.mixFrame = new Int16Array(this.frameSamples);
    this.silence = new Int16Array(this.frameSamples);
    leg.on('frame', this.onFrame);
    leg.on('played', this.onPlayed);
  }

  /** Stops listening to the leg; `flush` lays down bot audio past the last caller frame against silence first. */
  detach(flush: boolean): void {
    if (!this.attached) return;
    this.attached = false;
    this.leg.off('frame', this.onFrame);
    this.leg.off('played', this.onPlayed);
    if (flush) while (this.botAheadLength > 0) this.callerFrame(this.silence);
  }

  private callerFrame(pcm: Int16Array): void {
    const n = this.frameSamples;
    if (pcm.length !== n) return;
    const bot = this.botFrame;
    const ahead = this.botAhead;
    const available = Math.min(this.botAheadLength, n);
    for (let i = 0; i < available; i++) bot[i] = ahead[i];
    if (available < n) bot.fill(0, available);
    // Shift the remaining lead to the clock position; it is usually zero or one frame long.
    if (this.botAheadLength > n) ahead.copyWithin(0, n, this.botAheadLength);
    this.botAheadLength = Math.max(0, this.botAheadLength - n);

    const mix = this.mixFrame;
    for (let i = 0; i < n; i++) {
      const sum = pcm[i] + bot[i];
      mix[i] = sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum;
    }
    this.listener(pcm, bot, mix);
  }

  private botPlayed(pcm: Int16Array): void {
    // No caller audio for a while: let the caller side advance as silence rather than lose bot audio.
    while (this.botAheadLength + pcm.length > this.botAhead.length) this.callerFrame(this.silence);
    this.botAhead.set(pcm, this.botAheadLength);
    this.botAheadLength += pcm.length;
  }
}
