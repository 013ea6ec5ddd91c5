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
    /**
     * Encrypt recordings at rest (AES-256-GCM) with this 32-byte key, base64 or 64 hex digits; files carry its key
     * id. Unset: recordings are plain WAV. Give it as a file (CALLPILOT_STORE_RECORDING_KEY_FILE).
     */
    recordingKey: z.string().refine(isRecordingKey, 'a 32-byte key: base64 (openssl rand -base64 32) or 64 hex digits').optional(),
    /** Keys of before a rotation (comma-separated), kept so older recordings stay readable. */
    recordingOldKeys: z
      .string()
      .refine((text) => text.split(/[\s,]+/).filter((k) => k !== '').every(isRecordingKey), 'comma-separated 32-byte keys (base64 or hex)')
      .optional(),
    /** Recordings older than this are deleted; 0 keeps them forever. */
    retentionDays: z.number().int().min(0).max(3650).default(90),
  })
  .prefault({});
export type StoreConfig = z.infer<typeof storeConfigSchema>;

/** 32 bytes as base64 or hex; checked here so a bad key fails at config load, not at the first recording. */
function isRecordingKey(text: string): boolean {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return true;
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed) && Buffer.from(trimmed, 'base64').length === 32;
}
