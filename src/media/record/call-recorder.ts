import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AudioLeg } from '../types.ts';
import { LegMixer } from './leg-mixer.ts';
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

/** Records one leg as three aligned WAVs (caller, bot, mixed) on the caller-frame clock (see LegMixer). */
class LegRecorder implements CallRecorder {
  private readonly caller: WavWriter;
  private readonly bot: WavWriter;
  private readonly mixed: WavWriter;
  private readonly files: CallRecordingFiles;
  private readonly mixer: LegMixer;
  private closing: Promise<CallRecording> | undefined;
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
    this.mixer = new LegMixer(
      leg,
      (caller, bot, mixed) => {
        this.caller.write(caller);
        this.bot.write(bot);
        this.mixed.write(mixed);
      },
      opts.maxBotLeadMs,
    );
    leg.once('close', this.onClose);
  }

  close(): Promise<CallRecording> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<CallRecording> {
    this.leg.off('close', this.onClose);
    // Bot audio past the last caller frame still happened: it is laid down against silence.
    this.mixer.detach(true);
    const [caller] = await Promise.all([this.caller.close(), this.bot.close(), this.mixed.close()]);
    this.opts.log?.debug({ dir: this.dir, durationMs: caller.durationMs }, 'call recording finished');
    return { dir: this.dir, files: this.files, durationMs: caller.durationMs };
  }
}

/**
 * Start recording `leg` into `dir` (created if missing) as caller.wav, bot.wav and mixed.wav,
 * PCM16 mono at the leg's rate. Stops by itself when the leg closes.
 */
export function attachRecorder(leg: AudioLeg, dir: string, opts: CallRecorderOptions = {}): CallRecorder {
  return new LegRecorder(leg, dir, opts);
}
