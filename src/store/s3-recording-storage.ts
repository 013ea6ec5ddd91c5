import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { S3StorageConfig } from './config.ts';
import { folderUnderRoot, isPlainFile, type RecordingStorage } from './recording-storage.ts';
import { sweepRecordings } from './sweep-recordings.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Fetched copies of recordings another node recorded are a cache: kept a day, then fetched again if asked. */
const FETCHED_DIR = '.fetched';
const FETCHED_KEEP_DAYS = 1;
const UPLOAD_RETRY_IDLE_MS = 10 * 60 * 1000;

async function newestFileMs(folder: string): Promise<number> {
  let newest = (await stat(folder)).mtimeMs;
  for (const name of await readdir(folder)) newest = Math.max(newest, (await stat(join(folder, name))).mtimeMs);
  return newest;
}

/**
 * Recordings in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...). Object keys are `<prefix><date>/<call
 * id>/<file>`, the same layout as the local folder, so a recording keeps its address whichever node reads it.
 * Encrypted recordings (store.recordingKey) are uploaded encrypted: the bucket never holds plain audio then.
 */
export class S3RecordingStorage implements RecordingStorage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(
    readonly root: string,
    private readonly cfg: S3StorageConfig,
    private readonly log?: Logger,
  ) {
    this.client = new S3Client({
      endpoint: cfg.endpoint,
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      credentials: cfg.accessKeyId && cfg.secretAccessKey ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } : undefined,
      maxAttempts: 3,
      // Checksums only where S3 requires them: the default streams uploads as `aws-chunked` with a trailing CRC32,
      // which S3-compatible servers (s3rver, older MinIO and Ceph RGW) store as the object's bytes or refuse.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(inside: string, name: string): string {
    return `${this.cfg.prefix}${inside.split(/[\\/]/).join('/')}/${name}`;
  }

  async commit(folder: string): Promise<void> {
    const inside = folderUnderRoot(this.root, folder);
    if (inside === undefined) throw new Error(`recording folder ${folder} is outside ${this.root}`);
    const dir = join(this.root, inside);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
    for (const name of names) {
      const path = join(dir, name);
      if (!(await isPlainFile(path))) continue;
      const { size } = await stat(path);
      await this.client.send(new PutObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(inside, name), Body: createReadStream(path), ContentLength: size }));
    }
    // Only once every file is in the bucket: a failed upload leaves the whole folder for the next try.
    await rm(dir, { recursive: true, force: true });
    this.log?.debug({ folder: inside, files: names.length }, 'recordings uploaded to object storage');
  }

  async localFile(folder: string, name: string): Promise<string | undefined> {
    const inside = folderUnderRoot(this.root, folder);
    if (inside === undefined) return undefined;
    // Not committed yet (the call is still being finished, or the upload waits for a retry): the local file is it.
    const local = join(this.root, inside, name);
    if (await isPlainFile(local)) return local;
    const cached = join(this.root, FETCHED_DIR, inside, name);
    if (await isPlainFile(cached)) return cached;
    let body: Readable;
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(inside, name) }));
      body = got.Body as Readable;
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) return undefined;
      throw err;
    }
    await mkdir(join(this.root, FETCHED_DIR, inside), { recursive: true });
    // Written aside and renamed: a reader never sees half a file, and a failed fetch leaves nothing behind.
    const partial = `${cached}.${process.pid}.${Date.now()}.part`;
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }));
      await rename(partial, cached);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return cached;
  }

  /**
   * Uploads call folders left local (an upload failed when the call ended, or the node crashed first) once nothing
   * has been written to them for `UPLOAD_RETRY_IDLE_MS`: a live call writes its WAV files every 20 ms.
   */
  async uploadLeftovers(now: Date): Promise<number> {
    let uploaded = 0;
    for (const day of await readdir(this.root, { withFileTypes: true }).catch(() => [])) {
      if (!day.isDirectory() || day.name.startsWith('.')) continue;
      for (const call of await readdir(join(this.root, day.name), { withFileTypes: true }).catch(() => [])) {
        if (!call.isDirectory()) continue;
        const folder = join(this.root, day.name, call.name);
        try {
          if ((await newestFileMs(folder)) > now.getTime() - UPLOAD_RETRY_IDLE_MS) continue;
          await this.commit(folder);
          uploaded++;
        } catch (err) {
          this.log?.warn({ err: (err as Error).message, folder }, 'uploading a recording folder failed; retried at the next sweep');
        }
      }
    }
    return uploaded;
  }

  async sweep(retentionDays: number, now: Date): Promise<number> {
    const uploaded = await this.uploadLeftovers(now);
    if (uploaded > 0) this.log?.info({ uploaded }, 'recording folders left local were uploaded');
    let deleted = (await sweepRecordings(join(this.root, FETCHED_DIR), FETCHED_KEEP_DAYS, now, { log: this.log })).length;
    // Folders whose upload failed and was never retried are recordings too: the same retention applies to them.
    deleted += (await sweepRecordings(this.root, retentionDays, now, { log: this.log })).filter((f) => !f.endsWith(FETCHED_DIR)).length;
    if (!(retentionDays > 0)) return deleted;
    const cutoff = now.getTime() - retentionDays * DAY_MS;
    try {
      let token: string | undefined;
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: this.cfg.prefix, ContinuationToken: token }));
        const old = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && o.LastModified.getTime() < cutoff).map((o) => ({ Key: o.Key! }));
        if (old.length > 0) {
          await this.client.send(new DeleteObjectsCommand({ Bucket: this.cfg.bucket, Delete: { Objects: old, Quiet: true } }));
          deleted += old.length;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, bucket: this.cfg.bucket }, 'sweeping old recordings in object storage failed; retried at the next sweep');
    }
    return deleted;
  }

  close(): void {
    this.client.destroy();
  }
}
