import { z } from 'zod';
import type { SampleRate, WireCodec } from '../types.ts';

/*
 * callpilot's own media WebSocket (docs/media-websocket.md): used by the simulator, the latency
 * bench and the browser console. One JSON `start`, then binary 20 ms frames both ways and a few
 * JSON control messages.
 */

/** Subprotocol a client may ask for; asking for none is accepted too. */
export const MEDIA_SUBPROTOCOL = 'callpilot-media';
export const DEFAULT_MEDIA_PATH = '/media';
/** Largest binary message accepted from a client (1 s of 16 kHz L16 is 32000 B). */
export const MAX_MEDIA_MESSAGE_BYTES = 64000;
/** Largest `start` message: ids, numbers, flow and variables within their limits fit easily. */
export const MAX_START_BYTES = 16 * 1024;
/** Largest control message after `start` (dtmf, hangup are tens of bytes). */
export const MAX_CONTROL_BYTES = 1024;
/**
 * Malformed messages a call survives (each answered with an `error`): a client that sends this many in one call is
 * broken or hostile, so the call ends `protocol_error` and the socket closes 1008 instead of staying open forever.
 */
export const MAX_PROTOCOL_ERRORS = 10;
/** Variables a start may carry, each name and value, and all of them together as JSON. */
export const MAX_START_VARIABLES = 64;
export const MAX_VARIABLE_NAME_CHARS = 64;
export const MAX_VARIABLE_VALUE_CHARS = 1024;
export const MAX_VARIABLES_BYTES = 8 * 1024;
/** Close code when the server cannot take a call now (RFC 6455 1013 Try Again Later). */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** Close code for protocol violations (RFC 6455 policy violation). */
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_NORMAL = 1000;

/** RFC 6455 close reasons are limited to 123 bytes. */
export function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString()}...`;
}

const lang = z.enum(['zh', 'en']);
// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARS_EXCEPT_WHITESPACE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;
/** Printable ASCII without spaces: safe to log and store, never used in a path anyway. */
const externalId = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces, at most 128');
/** A number or SIP user as a PBX would give it. */
const phoneField = z.string().max(64).regex(NO_CONTROL_CHARS, 'no control characters');

export const mediaStartSchema = z
  .object({
    event: z.literal('start'),
    /** The client's own id for the call, stored as `externalId`; callpilot's id comes back in `started`. */
    externalId: externalId.optional(),
    /** Older name of `externalId`, still accepted. */
    callId: externalId.optional(),
    codec: z.enum(['pcmu', 'l16']),
    sampleRate: z.union([z.literal(8000), z.literal(16000)]),
    flow: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a flow name: letters, digits, _ and -, at most 64').optional(),
    lang: lang.optional(),
    from: phoneField.optional(),
    to: phoneField.optional(),
    variables: z
      .record(
        z.string().min(1).max(MAX_VARIABLE_NAME_CHARS).regex(NO_CONTROL_CHARS, 'no control characters'),
        z.string().max(MAX_VARIABLE_VALUE_CHARS).regex(NO_CONTROL_CHARS_EXCEPT_WHITESPACE, 'no control characters'),
      )
      .refine((v) => Object.keys(v).length <= MAX_START_VARIABLES, `at most ${MAX_START_VARIABLES} variables`)
      .refine((v) => Buffer.byteLength(JSON.stringify(v)) <= MAX_VARIABLES_BYTES, `variables exceed ${MAX_VARIABLES_BYTES} bytes`)
      .optional(),
  })
  .refine((start) => start.codec !== 'pcmu' || start.sampleRate === 8000, {
    message: 'pcmu is 8000 Hz only',
    path: ['sampleRate'],
  });

/** The first message a client sends. */
export type MediaStartMessage = z.infer<typeof mediaStartSchema>;
/** Codec names on this protocol: G.711 mu-law at 8 kHz or little-endian L16 at 8/16 kHz. */
export type MediaCodecName = MediaStartMessage['codec'];

/** A validated start, as handed to the route's `onLeg`. */
export interface MediaStart {
  /** callpilot's id for the call (newCallId()), sent back in `started`. */
  callId: string;
  /** The id the client gave, if any. */
  externalId?: string;
  codec: MediaCodecName;
  sampleRate: SampleRate;
  flow?: string;
  lang?: 'zh' | 'en';
  from?: string;
  to?: string;
  variables: Record<string, string>;
}

/** Control messages a client may send after `start`. */
export const mediaClientControlSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('dtmf'), digit: z.string().regex(/^[0-9*#A-D]$/) }),
  z.object({ event: z.literal('hangup') }),
]);
export type MediaClientControl = z.infer<typeof mediaClientControlSchema>;

/** JSON text messages the server sends. Binary messages are bot audio in the start codec. */
export type MediaServerMessage =
  | { event: 'started'; callId: string; externalId?: string }
  | { event: 'clear' }
  | { event: 'mark'; name: string }
  | { event: 'error'; message: string }
  | { event: 'end'; reason: string; detail?: string }
  | MediaNotice;

/** Free-form notifications for the console (`transcript`, `bot`, ...); `event` names the kind. */
export interface MediaNotice {
  event: string;
  [key: string]: unknown;
}

export function wireCodecOf(codec: MediaCodecName): WireCodec {
  return codec === 'pcmu' ? 'pcmu' : 'l16le';
}

/** A short human-readable account of a zod failure, for `error` messages and close reasons. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ');
}
