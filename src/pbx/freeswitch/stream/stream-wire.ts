import type { SampleRate } from '../../../media/index.ts';

/**
 * What differs between FreeSWITCH's WebSocket media modules (mod_audio_stream, mod_audio_fork).
 * Both dial callpilot with `uuid_<x> <uuid> start <url> mono 16k <metadata>`, send caller audio as
 * binary L16 frames, turn a JSON text frame of bot audio into a file they announce with a CUSTOM
 * event, and leave the playing to `uuid_broadcast`; the leg and the opener are shared, and each
 * module describes its wire with one of these.
 */
export interface StreamWireFormat {
  /** Module name, for logs and errors. */
  readonly module: string;
  /** The api command that starts and stops the stream. */
  readonly command: string;
  /** WebSocket subprotocols the module offers; the route only serves these (undefined = none). */
  readonly protocols?: readonly string[];
  /** CUSTOM subclasses the ESL connections subscribe to. */
  readonly subclasses: readonly string[];
  /** The CUSTOM subclass announcing a written file of bot audio (body JSON with `file`). */
  readonly playSubclass: string;
  /** CUSTOM subclasses meaning the WebSocket never came up: openMedia fails with their body. */
  readonly failureSubclasses: readonly string[];
  /** One chunk of bot audio (base64 L16 little-endian) as the JSON text frame the module files. */
  audioMessage(audioBase64: string, sampleRate: SampleRate): string;
  /** Text frame sent on barge-in before `uuid_break`, when the module has one. */
  readonly bargeInMessage?: string;
  /**
   * How the module numbers its files: `per-stream` = `<uuid>_<n>` with n counting this stream session's frames
   * from 0 (mod_audio_stream, capture i4), so files not written yet can be named in advance; `global` = one
   * counter for every call (mod_audio_fork's static playCount), so only announced files can be listed.
   */
  readonly fileNumbering: 'per-stream' | 'global';
  /** The largest message the module can legally send us: the WebSocket route refuses anything bigger. */
  readonly maxMessageBytes: number;
}
