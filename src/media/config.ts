import { z } from 'zod';

export const mediaConfigSchema = z
  .object({
    /** Record caller, bot and mixed audio of every call to WAV. */
    record: z.boolean().default(true),
    /** Bot audio queued beyond this is dropped with a warning (protects memory on a stuck leg). */
    maxQueuedMs: z.number().int().min(1000).max(600000).default(120000),
    /** Caller audio missing this long is replaced by silence in real time, so turn and no-input timers run. */
    callerGapMs: z.number().int().min(0).max(2000).default(200),
    /** No caller audio at all for this long ends the call with disposition dead_media; 0 = never. */
    deadMediaMs: z.number().int().min(0).max(3_600_000).default(60_000),
  })
  .prefault({});
export type MediaConfig = z.infer<typeof mediaConfigSchema>;
