/**
 * Finding a model's folder on disk. Order: an explicit path from config, `CALLPILOT_MODELS` (one or more folders,
 * path-delimited), `speech.modelsDir`, the repository's own `models/` (the demo ASR model and Silero VAD are
 * committed there so a fresh clone runs offline), `shared/models` next to the repo (tests and benchmarks), then the
 * user cache where `callpilot models pull` installs.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findModelSpec, MODEL_REGISTRY, type ModelFiles, type ModelKind, type ModelSpec, type SherpaFamily } from './model-registry.ts';

export type ModelSource = 'path' | 'env' | 'modelsDir' | 'bundled' | 'shared' | 'cache';

export interface ModelLookupOptions {
  /** A folder searched before all others (an explicit models root given by the caller). */
  rootDir?: string;
  /** `speech.modelsDir`. */
  modelsDir?: string;
  /** Environment to read `CALLPILOT_MODELS`, `XDG_CACHE_HOME` and `HOME` from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides the repository's `models/` folder (tests). */
  bundledDir?: string;
  /** Overrides the `shared/models` folder next to the repo (tests). */
  sharedDir?: string;
  /** Overrides the cache folder. */
  cacheDir?: string;
  registry?: readonly ModelSpec[];
}

export interface ResolvedModel {
  name: string;
  dir: string;
  source: ModelSource;
  /** The registry entry, when the model is known by name. */
  spec?: ModelSpec;
  /** Absolute paths of the files the registry lists (or that were found in a bare folder). */
  files: ModelFiles;
}

export interface ModelStatus {
  name: string;
  kind: ModelKind;
  family: SherpaFamily;
  streaming: boolean;
  installed: boolean;
  dir?: string;
  source?: ModelSource;
  url?: string;
  sha256?: string;
  sizeBytes?: number;
  testOnly: boolean;
  description: string;
}

export class ModelNotFoundError extends Error {
  constructor(
    readonly modelName: string,
    readonly searched: string[],
    pullable: boolean,
  ) {
    super(
      `model "${modelName}" not found (searched: ${searched.join(', ') || 'nowhere'}). ` +
        (pullable
          ? `Install it with: callpilot models pull ${modelName}`
          : `It is not downloadable; put it in one of those folders or run: callpilot models pull <name> (see callpilot models list)`),
    );
    this.name = 'ModelNotFoundError';
  }
}

/** The repository's own `models/` folder (committed demo ASR model and Silero VAD). */
export function bundledModelsDir(): string {
  return fileURLToPath(new URL('../../../models/', import.meta.url));
}

/** `shared/models` beside the repo checkout (this file is src/speech/models/ inside the repo). */
export function sharedModelsDir(): string {
  return fileURLToPath(new URL('../../../../shared/models/', import.meta.url));
}

export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.cache');
  return join(base, 'callpilot', 'models');
}

/**
 * Folders searched by name, in order, each tagged with where it came from. A folder named twice (CALLPILOT_MODELS
 * pointing at ../shared/models, say) is searched once, under its first source, so an error lists it once.
 */
export function modelSearchDirs(opts: ModelLookupOptions = {}): Array<{ dir: string; source: ModelSource }> {
  const env = opts.env ?? process.env;
  const dirs: Array<{ dir: string; source: ModelSource }> = [];
  const add = (dir: string, source: ModelSource): void => {
    const abs = resolve(dir);
    if (!dirs.some((d) => d.dir === abs)) dirs.push({ dir: abs, source });
  };
  if (opts.rootDir) add(opts.rootDir, 'path');
  for (const d of (env.CALLPILOT_MODELS ?? '').split(delimiter)) if (d) add(d, 'env');
  if (opts.modelsDir) add(opts.modelsDir, 'modelsDir');
  add(opts.bundledDir ?? bundledModelsDir(), 'bundled');
  add(opts.sharedDir ?? sharedModelsDir(), 'shared');
  add(opts.cacheDir ?? defaultCacheDir(env), 'cache');
  return dirs;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function absoluteFiles(dir: string, files: ModelFiles): ModelFiles {
  const out: ModelFiles = {};
  for (const [role, rel] of Object.entries(files) as Array<[keyof ModelFiles, string | undefined]>) {
    if (rel !== undefined) out[role] = join(dir, rel);
  }
  return out;
}

function hasAllFiles(dir: string, files: ModelFiles): boolean {
  return Object.values(files).every((rel) => rel === undefined || existsSync(join(dir, rel)));
}

/**
 * A model by registry name, or a folder path. Throws ModelNotFoundError naming the model and the pull command.
 * A folder path that matches a registry name by basename borrows that entry's file layout.
 */
export function resolveModel(nameOrPath: string, opts: ModelLookupOptions = {}): ResolvedModel {
  const registry = opts.registry ?? MODEL_REGISTRY;
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.startsWith('.');
  if (looksLikePath) {
    const dir = resolve(nameOrPath);
    if (!isDir(dir)) throw new ModelNotFoundError(nameOrPath, [dir], false);
    const spec = findModelSpec(basename(dir), registry);
    const files = spec?.files ?? guessFiles(dir);
    if (!hasAllFiles(dir, files)) throw new ModelNotFoundError(nameOrPath, [dir], false);
    return { name: spec?.name ?? basename(dir), dir, source: 'path', spec, files: absoluteFiles(dir, files) };
  }
  const spec = findModelSpec(nameOrPath, registry);
  // An alias (`zh-en`) finds the folder named after the full release name, where `models pull` installs it.
  const folder = spec?.name ?? nameOrPath;
  const searched: string[] = [];
  for (const { dir: root, source } of modelSearchDirs(opts)) {
    const dir = join(root, folder);
    searched.push(dir);
    if (!isDir(dir)) continue;
    const files = spec?.files ?? guessFiles(dir);
    if (hasAllFiles(dir, files)) return { name: folder, dir, source, spec, files: absoluteFiles(dir, files) };
  }
  throw new ModelNotFoundError(nameOrPath, searched, spec?.url !== undefined);
}

/** A bare folder with no registry entry: the usual sherpa file names. */
function guessFiles(dir: string): ModelFiles {
  const files: ModelFiles = {};
  if (existsSync(join(dir, 'tokens.txt'))) files.tokens = 'tokens.txt';
  if (existsSync(join(dir, 'model.onnx'))) files.model = 'model.onnx';
  else if (existsSync(join(dir, 'model.int8.onnx'))) files.model = 'model.int8.onnx';
  return files;
}

/** Every registry model with where (and whether) it is installed. */
export function listModels(opts: ModelLookupOptions = {}): ModelStatus[] {
  const registry = opts.registry ?? MODEL_REGISTRY;
  return registry.map((spec) => {
    let found: ResolvedModel | undefined;
    try {
      found = resolveModel(spec.name, opts);
    } catch (err) {
      if (!(err instanceof ModelNotFoundError)) throw err;
    }
    return {
      name: spec.name,
      kind: spec.kind,
      family: spec.family,
      streaming: spec.streaming,
      installed: found !== undefined,
      dir: found?.dir,
      source: found?.source,
      url: spec.url,
      sha256: spec.sha256,
      sizeBytes: spec.sizeBytes,
      testOnly: spec.testOnly ?? false,
      description: spec.description,
    };
  });
}
