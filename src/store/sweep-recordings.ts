import type { Dirent } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SweepRecordingsOptions {
  /** Where folders that could not be read or deleted are reported. */
  log?: Logger;
}

/**
 * Delete per-call recording folders (direct sub-folders of `dir`) whose newest file is older than
 * `retentionDays` before `now`. Returns the deleted folders. `retentionDays <= 0` keeps everything.
 * Symlinks and plain files in `dir` are left alone: only folders callpilot itself creates are removed.
 *
 * Never rejects: this is periodic housekeeping beside live calls, so a folder it cannot read or delete is
 * logged and skipped (and retried next sweep) instead of surfacing as an unhandled rejection.
 */
export async function sweepRecordings(
  dir: string,
  retentionDays: number,
  now: Date,
  opts: SweepRecordingsOptions = {},
): Promise<string[]> {
  if (!(retentionDays > 0)) return [];
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.log?.warn({ err, dir }, 'cannot read the recordings folder');
    return [];
  }
  const deleted: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const folder = join(dir, entry.name);
    try {
      if ((await newestModification(folder)) < cutoff) {
        await rm(folder, { recursive: true, force: true });
        deleted.push(folder);
      }
    } catch (err) {
      opts.log?.warn({ err, folder }, 'cannot sweep recording folder');
    }
  }
  if (deleted.length > 0) opts.log?.info({ dir, deleted: deleted.length, retentionDays }, 'old recordings deleted');
  return deleted;
}

/** Newest mtime of the folder and the files directly in it: writing a WAV updates the file, not the folder. */
async function newestModification(folder: string): Promise<number> {
  let newest = (await lstat(folder)).mtimeMs;
  for (const name of await readdir(folder)) {
    const stats = await lstat(join(folder, name));
    if (stats.mtimeMs > newest) newest = stats.mtimeMs;
  }
  return newest;
}
