/**
 * The models lock file (`models.lock.json` at the repository root by default): the sha256 of every model download
 * that was verified, so later pulls, here or on any node sharing the file (commit it, or copy it with the config),
 * are checked against it. For releases whose checksum is not published this is trust on first use: the first
 * download is believed and everything after must match it.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export type LockTrust = 'pinned' | 'flag' | 'first-use';

export interface LockEntry {
  url: string;
  sha256: string;
  bytes: number;
  /** Where the checksum was first taken from: the registry, `--sha256`, or the first download itself. */
  trust: LockTrust;
  recordedAt: string;
}

export interface ModelsLock {
  version: 1;
  models: Record<string, LockEntry>;
}

export class ModelsLockError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ModelsLockError';
  }
}

export function defaultLockFile(env: Record<string, string | undefined> = process.env): string {
  return env.CALLPILOT_MODELS_LOCK || fileURLToPath(new URL('../../../models.lock.json', import.meta.url));
}

/** The lock file's content; an absent file is an empty lock, a broken one an error (it guards integrity). */
export function readModelsLock(file: string): ModelsLock {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, models: {} };
    throw new ModelsLockError(file, `cannot read: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ModelsLockError(file, `not valid JSON (${(err as Error).message}); fix or delete it`);
  }
  const lock = parsed as Partial<ModelsLock>;
  if (lock.version !== 1 || typeof lock.models !== 'object' || lock.models === null) {
    throw new ModelsLockError(file, 'expected {"version": 1, "models": {...}}');
  }
  for (const [name, e] of Object.entries(lock.models)) {
    if (typeof e?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) throw new ModelsLockError(file, `entry "${name}" has no valid sha256`);
  }
  return lock as ModelsLock;
}

/** Adds or replaces one entry; written to a temp file and renamed so a crash never leaves half a lock. */
export async function recordInModelsLock(file: string, name: string, entry: LockEntry): Promise<void> {
  const lock = readModelsLock(file);
  lock.models[name] = entry;
  const sorted: ModelsLock = { version: 1, models: Object.fromEntries(Object.entries(lock.models).sort(([a], [b]) => a.localeCompare(b))) };
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(sorted, null, 2)}\n`);
  await rename(tmp, file);
}
