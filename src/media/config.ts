import { z } from 'zod';

export const mediaConfigSchema = z
  .object({
    /** Record caller, bot and mixed audio of every call to WAV. */
    record: z.boolean().default(true),
    /** Bot audio queued beyond this is dropped with a warning (protects memory on a stuck leg). */
    maxQueuedMs: z.number().int().min(1000).max(600000).default(120000),
  })
  .prefault({});
export type MediaConfig = z.infer<typeof mediaConfigSchema>;
