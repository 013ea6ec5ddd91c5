import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { StoreConfig } from './config.ts';
import { FilesystemRecordingStorage, type RecordingStorage } from './recording-storage.ts';

/** The recording storage store.recordingStorage names; the S3 client is loaded only when it is used. */
export async function openRecordingStorage(config: StoreConfig, cwd: string, log?: Logger): Promise<RecordingStorage> {
  const root = resolve(cwd, config.recordingsDir);
  if (config.recordingStorage === 'filesystem') return new FilesystemRecordingStorage(root, log);
  if (!config.s3) throw new Error('store.recordingStorage is s3 but store.s3 is not set');
  const { S3RecordingStorage } = await import('./s3-recording-storage.ts');
  return new S3RecordingStorage(root, config.s3, log);
}
