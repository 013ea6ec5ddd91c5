import { lstat } from 'node:fs/promises';
import { folderUnderRoot, type RecordingStorage } from '../store/index.ts';
import { HttpError } from './http-error.ts';

export const RECORDING_LEGS = ['caller', 'bot', 'mixed'] as const;
export type RecordingLeg = (typeof RECORDING_LEGS)[number];

/**
 * The WAV file of one leg of a call's recording, from the recording storage (fetched to this node when another
 * node recorded it into object storage). A folder outside the recordings root has none: the folder comes from the
 * database, so a bad row must not turn into reading arbitrary files.
 */
export async function findRecordingFile(
  storage: RecordingStorage,
  recordingDir: string | undefined,
  leg: string,
): Promise<{ path: string; size: number; encrypted: boolean }> {
  if (!(RECORDING_LEGS as readonly string[]).includes(leg)) {
    throw new HttpError(404, `unknown recording leg "${leg}"`, { legs: RECORDING_LEGS });
  }
  if (!recordingDir) throw new HttpError(404, 'this call has no recordings');
  if (folderUnderRoot(storage.root, recordingDir) === undefined) {
    throw new HttpError(404, 'recording is outside the recordings folder');
  }
  // An encrypted file wins: a plain one beside it is a leftover of a crash mid-encryption with the same audio.
  for (const [name, encrypted] of [[`${leg}.wav.enc`, true], [`${leg}.wav`, false]] as const) {
    const path = await storage.localFile(recordingDir, name).catch((err: unknown) => {
      throw new HttpError(503, `recording storage (${storage.kind}) cannot be read: ${(err as Error).message}`);
    });
    const stats = path ? await lstat(path).catch(() => undefined) : undefined;
    if (path && stats?.isFile()) return { path, size: stats.size, encrypted };
  }
  throw new HttpError(404, `no ${leg} recording for this call`);
}

/** Parses a single `bytes=a-b` range; undefined = serve the whole file; null = unsatisfiable. */
export function parseByteRange(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first, last] = match;
  let start: number;
  let end: number;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start > end || start >= size) return null;
  return { start, end };
}
