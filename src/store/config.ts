import { z } from 'zod';

export const storeConfigSchema = z
  .object({
    /** SQLite database file (WAL mode). */
    path: z.string().default('data/callpilot.db'),
    /** PostgreSQL instead of SQLite: the store several nodes share. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL')
      .optional(),
    postgres: z
      .object({
        poolSize: z.number().int().min(1).max(200).default(10),
        connectTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
        idleTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
        sslMode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
        caFile: z.string().optional(),
        /** Writes made while the database is unreachable wait here (fsync'd) until it is back. */
        journalPath: z.string().default('data/postgres-pending.jsonl'),
      })
      .prefault({}),
    recordingsDir: z.string().default('data/recordings'),
    /** Recordings older than this are deleted; 0 keeps them forever. */
    retentionDays: z.number().int().min(0).max(3650).default(90),
  })
  .prefault({});
export type StoreConfig = z.infer<typeof storeConfigSchema>;
