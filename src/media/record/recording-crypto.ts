import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/**
 * Recordings at rest: AES-256-GCM in 64 KiB chunks, each with its own nonce and tag, so a download can be decrypted
 * and checked piece by piece (and a byte range served) without holding the file in memory.
 *
 * File layout (`<leg>.wav.enc`):
 *   header, 32 bytes: magic `CPREC1\0\0` | key id (8) | nonce prefix (8, random per file) | plaintext length (u64 BE)
 *   then ceil(length / 64 KiB) chunks: ciphertext | 16-byte tag
 * Chunk i uses nonce = prefix | u32 BE i, and authenticates the whole header plus a last-chunk flag, so a chunk
 * that was edited, moved, dropped or cut off, a changed length or key id, all fail the tag check.
 * The key id is the first 8 bytes of sha256 over a label and the key: a rotated keyring keeps old files readable.
 */

const MAGIC = Buffer.from('CPREC1\0\0', 'latin1');
export const RECORDING_HEADER_BYTES = 32;
export const RECORDING_CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
/** Encrypted recordings carry this after their WAV name: `caller.wav.enc`. */
export const ENCRYPTED_RECORDING_SUFFIX = '.enc';

export type RecordingCryptoFailure = 'format' | 'unknown-key' | 'tampered';

export class RecordingCryptoError extends Error {
  constructor(
    readonly reason: RecordingCryptoFailure,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'RecordingCryptoError';
  }
}

/** The active key (new files) and older ones (reading files written before a rotation). */
export class RecordingKeyring {
  private readonly keys = new Map<string, Buffer>();
  readonly activeKeyId: string;

  constructor(active: Buffer, older: readonly Buffer[] = []) {
    for (const key of [active, ...older]) {
      if (key.length !== 32) throw new RecordingCryptoError('format', `a recording key must be 32 bytes, got ${key.length}`);
      this.keys.set(recordingKeyId(key), key);
    }
    this.activeKeyId = recordingKeyId(active);
  }

  /** From config text: base64 (44 chars) or hex (64 chars); old keys comma- or whitespace-separated. */
  static fromConfig(activeKey: string, oldKeys?: string): RecordingKeyring {
    const older = (oldKeys ?? '').split(/[\s,]+/).filter((k) => k !== '');
    return new RecordingKeyring(parseRecordingKey(activeKey), older.map(parseRecordingKey));
  }

  key(id: string): Buffer | undefined {
    return this.keys.get(id);
  }

  get activeKey(): Buffer {
    return this.keys.get(this.activeKeyId) as Buffer;
  }
}

/** A 32-byte key from base64 or hex text; the error never repeats the text. */
export function parseRecordingKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new RecordingCryptoError('format', `a recording key must be 32 bytes as base64 or 64 hex digits (openssl rand -base64 32); got ${key.length} bytes`);
  return key;
}

export function recordingKeyId(key: Buffer): string {
  return createHash('sha256').update('callpilot recording key id\0').update(key).digest().subarray(0, 8).toString('hex');
}

function chunkNonce(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0, 0, 8);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

function chunkAad(header: Buffer, last: boolean): Buffer {
  return Buffer.concat([header, Buffer.from([last ? 1 : 0])]);
}

function chunkCount(length: number): number {
  return length === 0 ? 1 : Math.ceil(length / RECORDING_CHUNK_BYTES);
}

/** Size of the encrypted file for a plaintext of `length` bytes. */
export function encryptedSize(length: number): number {
  return RECORDING_HEADER_BYTES + length + chunkCount(length) * TAG_BYTES;
}

/**
 * Encrypts `plainPath` into `plainPath.enc`: written to a temp file, fsync'd, renamed into place, then the plaintext
 * is removed. A crash at any point leaves the plaintext (recovery encrypts it again) or the finished file.
 */
export async function encryptRecordingFile(plainPath: string, keyring: RecordingKeyring): Promise<string> {
  const target = plainPath + ENCRYPTED_RECORDING_SUFFIX;
  const temp = `${target}.tmp`;
  const source = await open(plainPath, 'r');
  let out: FileHandle | undefined;
  try {
    const length = (await source.stat()).size;
    const header = Buffer.alloc(RECORDING_HEADER_BYTES);
    MAGIC.copy(header, 0);
    Buffer.from(keyring.activeKeyId, 'hex').copy(header, 8);
    const prefix = randomBytes(8);
    prefix.copy(header, 16);
    header.writeBigUInt64BE(BigInt(length), 24);
    out = await open(temp, 'w', 0o600);
    await out.write(header, 0, header.length, 0);
    const plain = Buffer.alloc(RECORDING_CHUNK_BYTES);
    const chunks = chunkCount(length);
    let offset = RECORDING_HEADER_BYTES;
    for (let i = 0; i < chunks; i++) {
      const want = Math.min(RECORDING_CHUNK_BYTES, length - i * RECORDING_CHUNK_BYTES);
      const { bytesRead } = await source.read(plain, 0, want, i * RECORDING_CHUNK_BYTES);
      if (bytesRead !== want) throw new Error(`${plainPath} changed while it was encrypted`);
      const cipher = createCipheriv('aes-256-gcm', keyring.activeKey, chunkNonce(prefix, i));
      cipher.setAAD(chunkAad(header, i === chunks - 1));
      const sealed = Buffer.concat([cipher.update(plain.subarray(0, want)), cipher.final(), cipher.getAuthTag()]);
      await out.write(sealed, 0, sealed.length, offset);
      offset += sealed.length;
    }
    await out.sync();
    await out.close();
    out = undefined;
    await rename(temp, target);
  } catch (err) {
    await out?.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  } finally {
    await source.close();
  }
  await syncFolder(join(plainPath, '..'));
  await rm(plainPath, { force: true });
  return target;
}

/**
 * Encrypts every plain `.wav` in a call's recording folder and clears temp files a crash left. A plaintext beside a
 * finished `.enc` means the crash came between rename and removal: it is encrypted again (same content).
 */
export async function encryptRecordingFolder(dir: string, keyring: RecordingKeyring): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const written: string[] = [];
  for (const name of names) {
    if (name.endsWith(`${ENCRYPTED_RECORDING_SUFFIX}.tmp`)) await rm(join(dir, name), { force: true });
  }
  for (const name of names) {
    if (!name.endsWith('.wav')) continue;
    written.push(await encryptRecordingFile(join(dir, name), keyring));
  }
  return written;
}

export interface EncryptedRecording {
  /** Plaintext length (what the client receives). */
  readonly size: number;
  readonly keyId: string;
  /** Checks every chunk's tag; rejects with RecordingCryptoError('tampered') on the first that fails. */
  verify(): Promise<void>;
  /** The plaintext bytes start..end (inclusive), decrypted and checked chunk by chunk. */
  stream(start?: number, end?: number): Readable;
  close(): Promise<void>;
}

/** Opens an encrypted recording: the header is read and its key found; nothing is decrypted yet. */
export async function openEncryptedRecording(path: string, keyring: RecordingKeyring): Promise<EncryptedRecording> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(RECORDING_HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, RECORDING_HEADER_BYTES, 0);
    if (bytesRead !== RECORDING_HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) {
      throw new RecordingCryptoError('format', 'not an encrypted callpilot recording', path);
    }
    const keyId = header.subarray(8, 16).toString('hex');
    const key = keyring.key(keyId);
    if (!key) throw new RecordingCryptoError('unknown-key', `recording was encrypted with key ${keyId}, which is not in store.recordingKey or store.recordingOldKeys`, path);
    const length = Number(header.readBigUInt64BE(24));
    const actual = (await file.stat()).size;
    if (actual !== encryptedSize(length)) throw new RecordingCryptoError('tampered', `recording is ${actual} bytes, its header says ${encryptedSize(length)}`, path);
    return new EncryptedFile(file, path, header, key, keyId, length);
  } catch (err) {
    await file.close();
    throw err;
  }
}

class EncryptedFile implements EncryptedRecording {
  private readonly prefix: Buffer;
  private readonly chunks: number;

  constructor(
    private readonly file: FileHandle,
    private readonly path: string,
    private readonly header: Buffer,
    private readonly key: Buffer,
    readonly keyId: string,
    readonly size: number,
  ) {
    this.prefix = header.subarray(16, 24);
    this.chunks = chunkCount(size);
  }

  private async chunk(index: number, sealed: Buffer): Promise<Buffer> {
    const plainLength = Math.min(RECORDING_CHUNK_BYTES, this.size - index * RECORDING_CHUNK_BYTES);
    const at = RECORDING_HEADER_BYTES + index * (RECORDING_CHUNK_BYTES + TAG_BYTES);
    const { bytesRead } = await this.file.read(sealed, 0, plainLength + TAG_BYTES, at);
    if (bytesRead !== plainLength + TAG_BYTES) throw new RecordingCryptoError('tampered', `recording chunk ${index} is cut short`, this.path);
    const decipher = createDecipheriv('aes-256-gcm', this.key, chunkNonce(this.prefix, index));
    decipher.setAAD(chunkAad(this.header, index === this.chunks - 1));
    decipher.setAuthTag(sealed.subarray(plainLength, plainLength + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, plainLength)), decipher.final()]);
    } catch {
      throw new RecordingCryptoError('tampered', `recording chunk ${index} failed authentication (altered, or a wrong key)`, this.path);
    }
  }

  async verify(): Promise<void> {
    const sealed = Buffer.alloc(RECORDING_CHUNK_BYTES + TAG_BYTES);
    for (let i = 0; i < this.chunks; i++) await this.chunk(i, sealed);
  }

  stream(start = 0, end = this.size - 1): Readable {
    const self = this;
    async function* pieces(): AsyncGenerator<Buffer> {
      if (self.size === 0 || end < start) return;
      const sealed = Buffer.alloc(RECORDING_CHUNK_BYTES + TAG_BYTES);
      const first = Math.floor(start / RECORDING_CHUNK_BYTES);
      const last = Math.floor(end / RECORDING_CHUNK_BYTES);
      for (let i = first; i <= last; i++) {
        const plain = await self.chunk(i, sealed);
        const base = i * RECORDING_CHUNK_BYTES;
        yield plain.subarray(Math.max(0, start - base), Math.min(plain.length, end - base + 1));
      }
    }
    const readable = Readable.from(pieces(), { objectMode: false });
    readable.once('close', () => void this.close());
    return readable;
  }

  private closed = false;
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close().catch(() => undefined);
  }
}

async function syncFolder(dir: string): Promise<void> {
  // The rename must reach the disk before the plaintext goes, or a power cut could lose both names.
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

/** True when `path` exists (a helper for recording lookups). */
export async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
