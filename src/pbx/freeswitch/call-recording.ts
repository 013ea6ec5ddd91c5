import type { Logger } from 'pino';
import type { EslEvent } from './esl/esl-message.ts';
import type { EslCommands } from './freeswitch-call.ts';

export interface RecordingOptions {
  /** Where FreeSWITCH writes the file: `{uuid}` = the channel's Unique-ID, `{date}` = YYYY-MM-DD (UTC). */
  pathTemplate: string;
}

/** The file path for one channel; refuses what `uuid_record` would split into several arguments. */
export function recordingPath(template: string, uuid: string, now: Date): string {
  const path = template.replaceAll('{uuid}', uuid).replaceAll('{date}', now.toISOString().slice(0, 10));
  if (/\s/.test(path) || path === '') throw new Error(`recording path must be one word: ${JSON.stringify(path)}`);
  return path;
}

/**
 * PBX-side recording of one channel with `uuid_record` (capture e): `start <path>` answers
 * `+OK Success` and fires RECORD_START (`Record-File-Path`); `stop <path>` fires RECORD_STOP.
 * FS also stops it by itself when the channel goes, so `stop` is only sent while the channel lives,
 * and a RECORD_STOP seen first makes it a no-op (a second stop is `-ERR Cannot stop record session!`).
 */
export class CallRecording {
  private state: 'idle' | 'starting' | 'recording' | 'stopped' = 'idle';

  constructor(
    private readonly commands: EslCommands,
    private readonly uuid: string,
    readonly path: string,
    private readonly log: Logger,
  ) {}

  get active(): boolean {
    return this.state === 'recording' || this.state === 'starting';
  }

  /** Resolves true once FS accepted the start; false (logged) when it refused. */
  async start(): Promise<boolean> {
    if (this.state !== 'idle') return this.active;
    this.state = 'starting';
    try {
      await this.commands.api(`uuid_record ${this.uuid} start ${this.path}`);
      // A hangup's RECORD_STOP may already have arrived while the reply was on its way.
      if (this.state === 'starting') this.state = 'recording';
      return true;
    } catch (err) {
      this.state = 'stopped';
      this.log.warn({ err, path: this.path }, 'uuid_record start failed; the call goes on unrecorded');
      return false;
    }
  }

  async stop(): Promise<void> {
    if (!this.active) return;
    this.state = 'stopped';
    await this.commands.api(`uuid_record ${this.uuid} stop ${this.path}`).catch((err: Error) => {
      // The channel may have gone (and FS stopped the recording) between our decision and the command.
      this.log.debug({ err, path: this.path }, 'uuid_record stop');
    });
  }

  /** RECORD_START / RECORD_STOP of this channel. */
  handleEvent(event: EslEvent): void {
    if (event.headers['Record-File-Path'] !== this.path) return;
    if (event.name === 'RECORD_STOP') {
      this.state = 'stopped';
      this.log.info({ path: this.path, cause: event.headers['Record-Completion-Cause'] }, 'PBX recording stopped');
    } else if (event.name === 'RECORD_START') {
      this.log.info({ path: this.path }, 'PBX recording started');
    }
  }
}
