import { lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { sweepRecordings } from './sweep-recordings.ts';

/**
 * Where finished call recordings are kept. Calls always write their legs into a local folder under `root`
 * (`<root>/<date>/<call id>`, WAV writers append frame by frame); when the call is over and its files are final
 * (closed, encrypted when configured) `commit` keeps them where this storage keeps recordings. The API reads a leg
 * through `localFile`, and retention runs through `sweep`.
 *
 * - `filesystem`: the local folder is the storage (a shared filesystem when several nodes serve recordings).
 * - `s3`: files are uploaded to an S3-compatible bucket and the local copy is removed; a node asked for a recording
 *   it does not hold fetches it into a local cache (`<root>/.fetched`), so any node serves any recording.
 */
export interface RecordingStorage {
  readonly kind: 'filesystem' | 's3';
  /** Local folder every call's recording folder lies under. */
  readonly root: string;
  /**
   * The call's recording folder is final: keep it. Rejects when it could not (object storage down); the local files
   * then stay, and the next start commits them again (crash recovery), so nothing is lost.
   */
  commit(folder: string): Promise<void>;
  /**
   * A local path to one file of a call's recording folder, fetched from the storage when this node does not hold it;
   * undefined when neither has it. A folder outside `root` (a bad row) has no files.
   */
  localFile(folder: string, name: string): Promise<string | undefined>;
  /** Deletes recordings older than `retentionDays` (0 keeps everything); never rejects; returns how many went. */
  sweep(retentionDays: number, now: Date): Promise<number>;
  /** Releases connections (object storage). */
  close?(): void;
}

/** The call's folder relative to `root`, or undefined when it lies outside it (whatever a row says). */
export function folderUnderRoot(root: string, folder: string): string | undefined {
  const inside = relative(resolve(root), resolve(root, folder));
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? undefined : inside;
}

/** A regular file at `path` (no links, no folders). */
export async function isPlainFile(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isFile() === true;
}

/** Recordings stay in the local folder: the default, and the layout for a shared filesystem (NFS, CephFS, RWX). */
export class FilesystemRecordingStorage implements RecordingStorage {
  readonly kind = 'filesystem' as const;
  readonly root: string;

  constructor(
    root: string,
    private readonly log?: Logger,
  ) {
    this.root = resolve(root);
  }

  async commit(): Promise<void> {
    // Already where it belongs.
  }

  async localFile(folder: string, name: string): Promise<string | undefined> {
    const inside = folderUnderRoot(this.root, folder);
    if (inside === undefined) return undefined;
    const path = join(this.root, inside, name);
    return (await isPlainFile(path)) ? path : undefined;
  }

  async sweep(retentionDays: number, now: Date): Promise<number> {
    return (await sweepRecordings(this.root, retentionDays, now, { log: this.log })).length;
  }
}
