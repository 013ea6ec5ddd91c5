import { lstat, readdir, rm } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Delete per-call recording folders (direct sub-folders of `dir`) whose newest file is older than
 * `retentionDays` before `now`. Returns the deleted folders. `retentionDays <= 0` keeps everything.
 * Symlinks and plain files in `dir` are left alone: only folders callpilot itself creates are removed.
 */
export async function sweepRecordings(dir: string, retentionDays: number, now: Date): Promise<string[]> {
  if (!(retentionDays > 0)) return [];
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const deleted: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const folder = join(dir, entry.name);
    if ((await newestModification(folder)) < cutoff) {
      await rm(folder, { recursive: true, force: true });
      deleted.push(folder);
    }
  }
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
