import { z } from 'zod';

/** Body of POST /api/calls. */
export const originateCallRequestSchema = z
  .object({
    /** Dial string or endpoint, e.g. `PJSIP/13800138000@trunk` or `sofia/gateway/trunk/13800138000`. */
    endpoint: z.string().trim().min(1).max(256),
    /** Which PBX to dial through when both are connected. */
    pbx: z.enum(['asterisk', 'freeswitch']).optional(),
    callerId: z.string().max(128).optional(),
    timeoutSec: z.number().int().min(1).max(600).optional(),
    flow: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'flow names are letters, digits, "_", "." and "-"')
      .optional(),
    lang: z.enum(['zh', 'en']).optional(),
    variables: z.record(z.string(), z.string()).optional(),
    /** Classify early media (空号/关机 announcements, busy tones) before answer; the PBX must allow early media. */
    earlyMedia: z.boolean().optional(),
  })
  .strict();

export type OriginateCallRequest = z.infer<typeof originateCallRequestSchema>;
