import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

/** PCM rates the engine works at. Everything on the wire is converted to one of these at the edge. */
export type SampleRate = 8000 | 16000;

/** Encodings seen on telephony media wires. */
export type WireCodec = 'pcmu' | 'pcma' | 'l16le' | 'l16be';

/** Every leg moves audio in 20 ms frames: that is what Asterisk, FreeSWITCH and RTP all use. */
export const FRAME_MS = 20;

export function samplesPerFrame(rate: number): number {
  return (rate * FRAME_MS) / 1000;
}

export type LegCloseCode =
  | 'caller_hangup' // the far end hung up
  | 'bot_hangup' // the dialog ended the call
  | 'transfer' // handed to a human
  | 'transport_error' // socket died, TCP reset, ...
  | 'protocol_error' // the peer broke the wire protocol
  | 'pbx_gone' // ARI/ESL lost while the call was up
  | 'timeout'
  | 'dead_media' // no caller audio at all for media.deadMediaMs (RTP stopped, media path broken)
  | 'shutdown';

export interface LegCloseReason {
  code: LegCloseCode;
  detail?: string;
}

/** Events of one call's audio leg. */
export interface AudioLegEvents {
  /**
   * One 20 ms frame of caller audio, PCM16 at `leg.sampleRate`.
   * The array is reused by the transport once the listener returns: copy it to keep it.
   */
  frame: [pcm: Int16Array];
  /**
   * One 20 ms frame of bot audio as it leaves on the wire (after pacing), PCM16 at `leg.sampleRate`.
   * Used for recording, echo reference and latency measurement. Reused like `frame`.
   */
  played: [pcm: Int16Array];
  /** A DTMF digit the caller pressed (0-9, *, #, A-D). */
  dtmf: [digit: string];
  /** The caller has heard bot audio up to this mark (see `mark()`). */
  mark: [name: string];
  /** The leg is gone; emitted once. */
  close: [reason: LegCloseReason];
  /** Something on the wire was wrong but the leg lives on (malformed frame, unknown message, ...). */
  warning: [err: Error];
}

/**
 * A call's audio in both directions, independent of the wire. PBX adapters implement it for
 * chan_websocket, AudioSocket, RTP and mod_audio_stream; callpilot's own /media WebSocket implements it too.
 */
export interface AudioLeg extends EventEmitter<AudioLegEvents> {
  readonly callId: string;
  /** Rate of the PCM16 frames in both directions. */
  readonly sampleRate: SampleRate;
  /** Queue bot audio (PCM16 at sampleRate, any length). Sent in real time; the first frame leaves at once. */
  play(pcm: Int16Array): void;
  /** Put a mark after the audio queued so far; `mark` fires when the caller has heard up to it. */
  mark(name: string): void;
  /**
   * Barge-in: drop all queued bot audio here and on the PBX side, and drop pending marks.
   * Returns the milliseconds of audio dropped (never heard by the caller).
   */
  flush(): number;
  /** Milliseconds of bot audio accepted by play() and not yet on the wire. */
  readonly queuedMs: number;
  /**
   * How far the `played` frames now coming trail the PBX's own playout (ms), where the PBX stamps it and the leg
   * learned it late (FreeSWITCH events read late on a loaded host). Turn latency subtracts it. Undefined: none.
   */
  readonly playoutLagMs?: number;
  readonly closed: boolean;
  /** Close the leg (idempotent). Emits `close` with the reason. */
  close(reason: LegCloseReason): Promise<void>;
}

/** A WebSocket endpoint on callpilot's HTTP server, registered by whoever owns the wire format. */
export interface WebSocketRoute {
  /** Path prefix, e.g. `/media` or `/media/freeswitch`; the longest matching prefix wins. */
  path: string;
  /** Subprotocols accepted (chan_websocket wants `media`, mod_audio_fork `audio.drachtio.org`). */
  protocols?: string[];
  /**
   * Largest WebSocket message accepted, sized to the wire's largest legal frame: ws refuses bigger ones (close
   * 1009) before buffering them. Default 64 KiB.
   */
  maxPayload?: number;
  /**
   * Roles admitted (admin, operator, auditor, pbx); the HTTP server refuses to start with a route that names none.
   * A route admitting only `pbx` also accepts the per-call media token callpilot put in the URL it gave the PBX.
   */
  roles?: readonly string[];
  /** `principal`: who connected (the auth module's Principal), absent for a per-call media token. */
  handle(ws: WebSocket, req: IncomingMessage, principal?: unknown): void;
}
