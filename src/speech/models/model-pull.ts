/**
 * `callpilot models pull <name>`: download a release, verify its sha256, unpack, and move it into the cache with
 * one rename so a half-installed model is never visible to the lookup.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { defaultCacheDir } from './model-lookup.ts';
import { findModelSpec, MODEL_REGISTRY, type ModelSpec } from './model-registry.ts';

export interface PullProgress {
  receivedBytes: number;
  /** From Content-Length or the registry; absent when unknown. */
  totalBytes?: number;
}

export interface PullOptions {
  cacheDir?: string;
  onProgress?: (p: PullProgress) => void;
  /** Expected sha256 of the download when the registry has none (or to override it). */
  sha256?: string;
  /** Replace an installed copy. */
  force?: boolean;
  registry?: readonly ModelSpec[];
}

export interface PullResult {
  name: string;
  dir: string;
  sha256: string;
  bytes: number;
}

export type PullErrorCode = 'unknown_model' | 'not_downloadable' | 'exists' | 'http' | 'checksum_mismatch' | 'checksum_unknown' | 'extract' | 'layout';

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
  if (!spec) throw new ModelPullError('unknown_model', `unknown model "${name}" (see callpilot models list)`);
  if (!spec.url || !spec.packaging) {
    throw new ModelPullError('not_downloadable', `model "${name}" is local-only and has no release to download`);
  }
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const target = join(cacheDir, spec.name);
  if (existsSync(target) && !opts.force) {
    throw new ModelPullError('exists', `model "${name}" is already installed in ${target} (use --force to replace it)`);
  }
  await mkdir(cacheDir, { recursive: true });
  // Same filesystem as the target, so the final rename is atomic.
  const work = await mkdtemp(join(cacheDir, `.pull-${spec.name}-`));
  try {
    const download = join(work, 'download');
    const { sha256, bytes } = await fetchTo(spec.url, download, spec.sizeBytes, opts.onProgress);
    const expected = (opts.sha256 ?? spec.sha256)?.toLowerCase();
    if (!expected) {
      throw new ModelPullError(
        'checksum_unknown',
        `no published sha256 for "${name}"; downloaded ${bytes} bytes with sha256 ${sha256}. ` +
          `Check it against the publisher and rerun: callpilot models pull ${name} --sha256 ${sha256}`,
        sha256,
      );
    }
    if (expected !== sha256) {
      throw new ModelPullError('checksum_mismatch', `sha256 mismatch for "${name}": expected ${expected}, got ${sha256}`, sha256);
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
        throw new ModelPullError('layout', `archive of "${name}" lacks ${rel}`);
      }
    }
    if (existsSync(target)) await rm(target, { recursive: true, force: true });
    await rename(staged, target);
    return { name: spec.name, dir: target, sha256, bytes };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function fetchTo(
  url: string,
  file: string,
  registrySize: number | undefined,
  onProgress: ((p: PullProgress) => void) | undefined,
): Promise<{ sha256: string; bytes: number }> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new ModelPullError('http', `GET ${url}: HTTP ${res.status}`);
  const header = Number(res.headers.get('content-length'));
  const totalBytes = Number.isFinite(header) && header > 0 ? header : registrySize;
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  let receivedBytes = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
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
