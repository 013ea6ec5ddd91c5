import { z } from 'zod';

export const s3StorageSchema = z
  .object({
    /** S3-compatible endpoint (MinIO, Ceph RGW, ...); unset: AWS S3 of `region`. */
    endpoint: z.url().optional(),
    region: z.string().min(1).default('us-east-1'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, "." and "-")'),
    /** Key prefix inside the bucket, e.g. `recordings/`. */
    prefix: z.string().max(200).regex(/^$|^[^/].*\/$/, 'empty, or ending with "/" and not starting with one').default('recordings/'),
    /** Path-style addressing (`endpoint/bucket/key`), what most S3-compatible servers want. */
    forcePathStyle: z.boolean().default(true),
    /** Unset: the AWS SDK's default chain (environment, instance role, ...). */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
  })
  .strict();
export type S3StorageConfig = z.infer<typeof s3StorageSchema>;

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
    /** Where finished recordings are kept: the local folder (shared filesystem for several nodes) or an S3 bucket. */
    recordingStorage: z.enum(['filesystem', 's3']).default('filesystem'),
    s3: s3StorageSchema.optional(),
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
  .refine((c) => c.recordingStorage !== 's3' || c.s3 !== undefined, { message: 'recordingStorage s3 needs store.s3 (bucket, and endpoint for a server other than AWS)', path: ['s3'] })
  .prefault({});
export type StoreConfig = z.infer<typeof storeConfigSchema>;

/** 32 bytes as base64 or hex; checked here so a bad key fails at config load, not at the first recording. */
function isRecordingKey(text: string): boolean {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return true;
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed) && Buffer.from(trimmed, 'base64').length === 32;
}
