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
/** Close code for protocol violations (RFC 6455 policy violation). */
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_NORMAL = 1000;

const lang = z.enum(['zh', 'en']);

export const mediaStartSchema = z
  .object({
    event: z.literal('start'),
    callId: z.string().min(1).max(128).optional(),
    codec: z.enum(['pcmu', 'l16']),
    sampleRate: z.union([z.literal(8000), z.literal(16000)]),
    flow: z.string().min(1).optional(),
    lang: lang.optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    variables: z.record(z.string(), z.string()).optional(),
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
  callId: string;
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
  | { event: 'started'; callId: string }
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
