import { z } from 'zod';

export const storeConfigSchema = z
  .object({
    /** SQLite database file (WAL mode). */
    path: z.string().default('data/callpilot.db'),
    recordingsDir: z.string().default('data/recordings'),
    /** Recordings older than this are deleted; 0 keeps them forever. */
    retentionDays: z.number().int().min(0).max(3650).default(90),
  })
  .prefault({});
export type StoreConfig = z.infer<typeof storeConfigSchema>;
