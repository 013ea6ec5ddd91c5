import { z } from 'zod';
import { AMD_KINDS, CALL_PROGRESS_KINDS, type AmdKind, type CallProgressKind } from '../core/index.ts';

// Runtime checks of what callers hand the store: the types say the same, but values arrive from PBX events,
// flows and the HTTP API, and a bad row is far harder to fix once written.

const isoTime = z.iso.datetime({ offset: true });
const optionalText = z.string().optional();
/**
 * Ids that come from outside (a media client, Asterisk, FreeSWITCH): printable ASCII, no spaces or NULs, bounded.
 * Stored for correlation only; nothing builds a path from them.
 */
export const EXTERNAL_ID_MAX = 128;
export const externalIdSchema = z
  .string()
  .min(1)
  .max(EXTERNAL_ID_MAX)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
/** callpilot's own ids are UUIDs; older rows and tests use short names. Never a path separator or a NUL. */
const callIdSchema = z.string().min(1).max(200).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits, . _ : - only');

export const callRecordSchema = z.object({
  id: callIdSchema,
  pbx: z.string().min(1).max(64),
  pbxCallId: externalIdSchema.optional(),
  externalId: externalIdSchema.optional(),
  direction: z.enum(['inbound', 'outbound']),
  from: z.string().max(256).optional(),
  to: z.string().max(256).optional(),
  flow: z.string().max(128).optional(),
  lang: z.string().min(1),
  status: z.enum(['active', 'ended']),
  startedAt: isoTime,
  answeredAt: isoTime.optional(),
  endedAt: isoTime.optional(),
  disposition: optionalText,
  hangupCause: z.number().int().min(0).optional(),
  hangupBy: optionalText,
  recordingDir: optionalText,
  variables: z.record(z.string(), z.string()),
  progress: z
    .object({
      kind: z.enum(CALL_PROGRESS_KINDS as [CallProgressKind, ...CallProgressKind[]]),
      source: z.enum(['announcement', 'tone', 'cause']),
      atMs: z.number().min(0).optional(),
      evidence: z.string().max(500).optional(),
      transcript: z.string().max(2000).optional(),
      cause: z.number().int().min(0).optional(),
      heard: z.enum(['none', 'ringback_tone', 'colour_ringback', 'announcement', 'busy_tone', 'congestion_tone']).optional(),
    })
    .strict()
    .optional(),
  amd: z
    .object({
      kind: z.enum(AMD_KINDS as [AmdKind, ...AmdKind[]]),
      reason: z.enum(['keyword', 'beep', 'short_greeting', 'long_greeting', 'silence', 'timeout']),
      atMs: z.number().min(0),
      evidence: z.string().max(500).optional(),
      transcript: z.string().max(2000).optional(),
      beepAtMs: z.number().min(0).optional(),
    })
    .strict()
    .optional(),
});

export const callPatchSchema = callRecordSchema.omit({ id: true }).partial().strict();

export const turnRecordSchema = z.object({
  callId: z.string().min(1),
  seq: z.number().int().min(0),
  callerText: z.string(),
  inputKind: z.enum(['speech', 'dtmf', 'noInput']),
  botText: optionalText,
  speechStartMs: z.number().min(0).optional(),
  speechEndMs: z.number().min(0).optional(),
  latencyMs: z.number().optional(),
  bargeIn: z.boolean(),
  heardMs: z.number().min(0).optional(),
  continuesSeq: z.number().int().min(0).optional(),
  intent: z.string().min(1).max(100).optional(),
  confidence: z.number().min(0).max(1).optional(),
  slots: z.record(z.string().max(64), z.string().max(500)).optional(),
  emotion: z.object({ label: z.enum(['angry', 'negative', 'neutral', 'positive']), score: z.number().min(0).max(1) }).optional(),
  at: isoTime,
});

export const callEventSchema = z.object({
  callId: z.string().min(1),
  at: isoTime,
  type: z.string().min(1).max(100),
  data: z.record(z.string(), z.unknown()),
});

/** `field: problem; field: problem` from a zod error, for StoreError messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`).join('; ');
}
