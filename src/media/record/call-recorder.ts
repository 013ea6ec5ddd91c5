import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type AudioLeg, samplesPerFrame } from '../types.ts';
import { WavWriter } from './wav-writer.ts';

export interface CallRecordingFiles {
  caller: string;
  bot: string;
  mixed: string;
}

export interface CallRecording {
  dir: string;
  files: CallRecordingFiles;
  /** Length of each of the three files (they are aligned and equally long). */
  durationMs: number;
}

export interface CallRecorder {
  readonly dir: string;
  /** Stop recording and finish the files. Idempotent; also runs by itself when the leg closes. */
  close(): Promise<CallRecording>;
}

export interface CallRecorderOptions {
  log?: Logger;
  /**
   * Bot audio allowed to run ahead of the caller clock before the caller side is assumed silent
   * (RTP with silence suppression, a stalled caller stream). Default 1000 ms.
   */
  maxBotLeadMs?: number;
}

/**
 * Records one leg as three aligned WAVs. Time is the caller-frame clock: each 'frame' event
 * advances it 20 ms, and 'played' bot frames are laid down from the clock position onward. So
 * the mix shows overlaps (barge-in) as the caller heard them, regardless of wall-clock jitter.
 */
class LegRecorder implements CallRecorder {
  private readonly caller: WavWriter;
  private readonly bot: WavWriter;
  private readonly mixed: WavWriter;
  private readonly files: CallRecordingFiles;
  private readonly frameSamples: number;
  /** Bot audio not yet matched with a caller frame; index 0 is the current clock position. */
  private botAhead: Int16Array;
  private botAheadLength = 0;
  private readonly botFrame: Int16Array;
  private readonly mixFrame: Int16Array;
  private readonly silence: Int16Array;
  private closing: Promise<CallRecording> | undefined;
  private readonly onFrame = (pcm: Int16Array): void => this.callerFrame(pcm);
  private readonly onPlayed = (pcm: Int16Array): void => this.botPlayed(pcm);
  private readonly onClose = (): void => void this.close().catch(() => undefined);

  constructor(
    private readonly leg: AudioLeg,
    readonly dir: string,
    private readonly opts: CallRecorderOptions,
  ) {
    mkdirSync(dir, { recursive: true });
    this.files = { caller: join(dir, 'caller.wav'), bot: join(dir, 'bot.wav'), mixed: join(dir, 'mixed.wav') };
    this.caller = new WavWriter(this.files.caller, leg.sampleRate);
    this.bot = new WavWriter(this.files.bot, leg.sampleRate);
    this.mixed = new WavWriter(this.files.mixed, leg.sampleRate);
    this.frameSamples = samplesPerFrame(leg.sampleRate);
    const leadSamples = Math.ceil(((opts.maxBotLeadMs ?? 1000) * leg.sampleRate) / 1000);
    this.botAhead = new Int16Array(leadSamples + this.frameSamples * 2);
    this.botFrame = new Int16Array(this.frameSamples);
    this.mixFrame = new Int16Array(this.frameSamples);
    this.silence = new Int16Array(this.frameSamples);
    leg.on('frame', this.onFrame);
    leg.on('played', this.onPlayed);
    leg.once('close', this.onClose);
  }

  close(): Promise<CallRecording> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<CallRecording> {
    this.leg.off('frame', this.onFrame);
    this.leg.off('played', this.onPlayed);
    this.leg.off('close', this.onClose);
    // Bot audio past the last caller frame still happened: lay it down against silence.
    while (this.botAheadLength > 0) this.callerFrame(this.silence);
    const [caller] = await Promise.all([this.caller.close(), this.bot.close(), this.mixed.close()]);
    this.opts.log?.debug({ dir: this.dir, durationMs: caller.durationMs }, 'call recording finished');
    return { dir: this.dir, files: this.files, durationMs: caller.durationMs };
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
    this.caller.write(pcm);
    this.bot.write(bot);
    this.mixed.write(mix);
  }

  private botPlayed(pcm: Int16Array): void {
    // No caller audio for a while: let the caller side advance as silence rather than lose bot audio.
    while (this.botAheadLength + pcm.length > this.botAhead.length) this.callerFrame(this.silence);
    this.botAhead.set(pcm, this.botAheadLength);
    this.botAheadLength += pcm.length;
  }
}

/**
 * Start recording `leg` into `dir` (created if missing) as caller.wav, bot.wav and mixed.wav,
 * PCM16 mono at the leg's rate. Stops by itself when the leg closes.
 */
export function attachRecorder(leg: AudioLeg, dir: string, opts: CallRecorderOptions = {}): CallRecorder {
  return new LegRecorder(leg, dir, opts);
}
