import { z } from 'zod';

export const qaConfigSchema = z
  .object({
    /** Run the QA rules on every call. */
    enabled: z.boolean().default(true),
    /** Folder of QA rule YAML files; a missing folder means no rules. */
    rulesDir: z.string().default('configs/qa'),
    /** The CRM endpoint QA hits are POSTed to (signed, retried, dead-lettered like campaign webhooks); unset: none. */
    webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** HMAC-SHA256 key of the signature header; required with webhookUrl. */
    webhookSecret: z.string().min(16).optional(),
    /** Hits below this severity are not sent. */
    webhookMinSeverity: z.enum(['info', 'minor', 'major', 'critical']).default('major'),
  })
  .strict()
  .refine((c) => !c.webhookUrl || c.webhookSecret, { message: 'qa.webhookSecret is required with qa.webhookUrl (receivers verify the signature)', path: ['webhookSecret'] })
  .prefault({});

export type QaConfig = z.infer<typeof qaConfigSchema>;
