/**
 * `callpilot models pull <name>`: download a release, verify its sha256 (pinned, given, or recorded in the lock
 * file; trust on first use where none exists yet), unpack, and move it into the cache with one rename so a
 * half-installed model is never visible to the lookup.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { defaultCacheDir } from './model-lookup.ts';
import { defaultLockFile, readModelsLock, recordInModelsLock, type LockTrust } from './model-lock.ts';
import { findModelSpec, MODEL_REGISTRY, type ModelSpec } from './model-registry.ts';

export interface PullProgress {
  receivedBytes: number;
  /** From Content-Length or the registry; absent when unknown. */
  totalBytes?: number;
}

export interface PullOptions {
  cacheDir?: string;
  onProgress?: (p: PullProgress) => void;
  /** Expected sha256 of the download (overrides the registry's and the lock file's). */
  sha256?: string;
  /** Replace an installed copy. */
  force?: boolean;
  /** Download from here instead of the registry URL: a mirror URL or a local file copied from elsewhere. */
  from?: string;
  /** The models lock file (default `models.lock.json` at the repository root, or $CALLPILOT_MODELS_LOCK). */
  lockFile?: string;
  registry?: readonly ModelSpec[];
}

export interface PullResult {
  name: string;
  dir: string;
  sha256: string;
  bytes: number;
  /** Where the checksum that was checked came from; `first-use` = nothing to check yet, recorded now. */
  trust: LockTrust;
  lockFile: string;
  /** Whether this pull added (or changed) the lock file's entry. */
  recorded: boolean;
}

export type PullErrorCode =
  | 'unknown_model'
  | 'not_downloadable'
  | 'exists'
  | 'http'
  | 'network'
  | 'checksum_mismatch'
  | 'extract'
  | 'layout';

export class ModelPullError extends Error {
  constructor(
    readonly code: PullErrorCode,
    message: string,
    /** sha256 of what was downloaded, when it got that far. */
    readonly computedSha256?: string,
  ) {
    super(message);
    this.name = 'ModelPullError';
  }
}

export async function pullModel(name: string, opts: PullOptions = {}): Promise<PullResult> {
  const spec = findModelSpec(name, opts.registry ?? MODEL_REGISTRY);
  if (!spec) throw new ModelPullError('unknown_model', `unknown model "${name}" (see: callpilot models list)`);
  if (!spec.url || !spec.packaging) {
    throw new ModelPullError('not_downloadable', `model "${name}" is local-only and has no release to download`);
  }
  const lockFile = opts.lockFile ?? defaultLockFile();
  // Read before downloading: a broken lock file must stop the pull, not be overwritten after it.
  const locked = readModelsLock(lockFile).models[spec.name];
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const target = join(cacheDir, spec.name);
  if (existsSync(target) && !opts.force) {
    throw new ModelPullError('exists', `model "${spec.name}" is already installed in ${target} (use --force to replace it)`);
  }
  await mkdir(cacheDir, { recursive: true });
  // Same filesystem as the target, so the final rename is atomic.
  const work = await mkdtemp(join(cacheDir, `.pull-${spec.name}-`));
  try {
    const download = join(work, 'download');
    const source = opts.from ?? spec.url;
    const { sha256, bytes } = /^https?:\/\//.test(source)
      ? await fetchTo(source, download, spec, opts.onProgress)
      : await copyTo(source, download, opts.onProgress);
    const flag = opts.sha256?.toLowerCase();
    const expected = flag ?? spec.sha256 ?? locked?.sha256;
    const trust: LockTrust = flag ? 'flag' : spec.sha256 ? 'pinned' : locked ? locked.trust : 'first-use';
    if (expected && expected !== sha256) {
      const from = flag ? '--sha256' : spec.sha256 ? 'the registry' : `${lockFile} (recorded ${locked!.recordedAt}, ${locked!.trust})`;
      throw new ModelPullError(
        'checksum_mismatch',
        `sha256 mismatch for "${spec.name}" from ${source}: expected ${expected} (from ${from}), got ${sha256}. ` +
          'Nothing was installed. The download is corrupt or the release was replaced: retry, and if the publisher really ' +
          'changed the file, check the new one and remove its entry from the lock file.',
        sha256,
      );
    }
    if (locked && !flag && locked.sha256 !== sha256) {
      throw new ModelPullError(
        'checksum_mismatch',
        `sha256 of "${spec.name}" (${sha256}) differs from ${lockFile} (${locked.sha256}); nothing was installed`,
        sha256,
      );
    }
    const staged = join(work, spec.name);
    if (spec.packaging === 'file') {
      await mkdir(staged);
      const fileName = spec.files.model ?? spec.url.split('/').pop() ?? 'model.onnx';
      await rename(download, join(staged, fileName));
    } else {
      const unpackDir = join(work, 'unpack');
      await mkdir(unpackDir);
      await untarBz2(download, unpackDir);
      await rename(await archiveRootDir(unpackDir, spec), staged);
    }
    for (const rel of Object.values(spec.files)) {
      if (rel !== undefined && !existsSync(join(staged, rel))) {
        throw new ModelPullError('layout', `archive of "${spec.name}" lacks ${rel}`);
      }
    }
    if (existsSync(target)) await rm(target, { recursive: true, force: true });
    await rename(staged, target);
    const recorded = locked?.sha256 !== sha256;
    if (recorded) {
      await recordInModelsLock(lockFile, spec.name, { url: spec.url, sha256, bytes, trust, recordedAt: new Date().toISOString() });
    }
    return { name: spec.name, dir: target, sha256, bytes, trust, lockFile, recorded };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function offlineHint(spec: ModelSpec, url: string): string {
  return (
    `If this machine has no internet access, download ${url} on one that has, copy it here and run: ` +
    `callpilot models pull ${spec.aliases?.[0] ?? spec.name} --from FILE (verified the same way).`
  );
}

async function fetchTo(
  url: string,
  file: string,
  spec: ModelSpec,
  onProgress: ((p: PullProgress) => void) | undefined,
): Promise<{ sha256: string; bytes: number }> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    // undici puts the system error (ENOTFOUND, ECONNREFUSED, ETIMEDOUT ...) in `cause`.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ? `${cause.code}${cause.message ? ` (${cause.message})` : ''}` : (err as Error).message;
    throw new ModelPullError('network', `GET ${url} failed: network error ${why}. ${offlineHint(spec, url)}`);
  }
  if (!res.ok || !res.body) {
    throw new ModelPullError(
      'http',
      `GET ${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}. ` +
        (res.status === 404 ? 'The release may have moved: check the publisher\'s release page and pass --from URL. ' : 'Retry later. ') +
        offlineHint(spec, url),
    );
  }
  const header = Number(res.headers.get('content-length'));
  const totalBytes = Number.isFinite(header) && header > 0 ? header : spec.sizeBytes;
  try {
    return await hashInto(res.body as AsyncIterable<Uint8Array>, file, totalBytes, onProgress);
  } catch (err) {
    if (err instanceof ModelPullError) throw err;
    throw new ModelPullError('network', `GET ${url}: download broke off: ${(err as Error).message}. Retry; nothing was installed.`);
  }
}

async function copyTo(path: string, file: string, onProgress: ((p: PullProgress) => void) | undefined): Promise<{ sha256: string; bytes: number }> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new ModelPullError('network', `cannot read ${path}: ${(err as Error).message}`);
  }
  return hashInto(createReadStream(path), file, size, onProgress);
}

async function hashInto(
  body: AsyncIterable<Uint8Array>,
  file: string,
  totalBytes: number | undefined,
  onProgress: ((p: PullProgress) => void) | undefined,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  let receivedBytes = 0;
  try {
    for await (const chunk of body) {
      hash.update(chunk);
      receivedBytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
      onProgress?.({ receivedBytes, totalBytes });
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return { sha256: hash.digest('hex'), bytes: receivedBytes };
}

function untarBz2(archive: string, dir: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const tar = spawn('tar', ['-xjf', archive, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    tar.on('error', (err) => reject(new ModelPullError('extract', `cannot run tar: ${err.message}`)));
    tar.on('close', (code) =>
      code === 0 ? resolvePromise() : reject(new ModelPullError('extract', `tar exited ${code}: ${stderr.trim()}`)),
    );
  });
}

async function archiveRootDir(unpackDir: string, spec: ModelSpec): Promise<string> {
  if (spec.archiveRoot && existsSync(join(unpackDir, spec.archiveRoot))) return join(unpackDir, spec.archiveRoot);
  const entries = await readdir(unpackDir, { withFileTypes: true });
  if (entries.length === 1 && entries[0]!.isDirectory()) return join(unpackDir, entries[0]!.name);
  return unpackDir;
}
