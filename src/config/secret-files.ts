import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigIssue } from './config-error.ts';
import { envVarName, isPlainObject } from './schema-tree.ts';

/**
 * Config keys that hold secrets. Each can be given as a file instead of a value, the way Docker and Kubernetes
 * secrets are mounted: `<ENV VAR>_FILE=/run/secrets/x` in the environment, or `<key>File: /run/secrets/x` beside
 * the key in YAML. The file is read once at start; its content never appears in a log line or a config error.
 * A test checks that every key whose name looks like a secret is listed here.
 */
export const SECRET_KEYS: readonly string[] = [
  'store.url',
  'store.recordingKey',
  'store.recordingOldKeys',
  'store.s3.secretAccessKey',
  'dialog.llm.apiKey',
  'pbx.asterisk.password',
  'pbx.freeswitch.password',
  'qa.webhookSecret',
];

/** Env var naming the file of a secret key, e.g. `CALLPILOT_PBX_ASTERISK_PASSWORD_FILE`. */
export function secretFileEnvVar(key: string): string {
  return `${envVarName(key.split('.'))}_FILE`;
}

/** YAML key naming the file of a secret key, beside it: `password` -> `passwordFile`. */
export function secretFileYamlKey(key: string): string {
  return `${key.split('.').at(-1) as string}File`;
}

/** A secret file is a password or a URL, not a document: anything bigger is a wrong path. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface SecretFileResult {
  /** Input with file contents in place of `<key>File` entries (a copy). */
  input: Record<string, unknown>;
  /** Env vars of the form `<KEY>_FILE` that were consumed, so the env-override pass does not call them unknown. */
  fileEnvVars: Set<string>;
  /** Dotted key -> env var that set it (for locating validation errors). */
  sources: Map<string, string>;
  issues: ConfigIssue[];
  /** Every secret value read from a file (for log checks; never print them). */
  values: string[];
}

export type SecretReader = (path: string) => string;

/** Reads a secret file: one trailing newline (what `echo` and editors add) is dropped, the rest kept as is. */
export function readSecretFile(path: string): string {
  const size = statSync(path).size;
  if (size > MAX_SECRET_FILE_BYTES) throw new Error(`is ${size} bytes; a secret file holds one value (at most ${MAX_SECRET_FILE_BYTES} bytes)`);
  const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  if (text === '') throw new Error('is empty');
  return text;
}

/**
 * Step 1, on the YAML: `passwordFile: path` beside `password` becomes `password: <content>`.
 * Step 2 (`applySecretFileEnv`, after the plain env overrides): `CALLPILOT_..._FILE` wins over both.
 */
export function resolveYamlSecretFiles(raw: Record<string, unknown>, cwd: string, file: string | undefined, read: SecretReader = readSecretFile): SecretFileResult {
  const input = structuredClone(raw);
  const issues: ConfigIssue[] = [];
  const values: string[] = [];
  for (const key of SECRET_KEYS) {
    const path = key.split('.');
    const parent = parentOf(input, path);
    if (!parent) continue;
    const name = path.at(-1) as string;
    const fileKey = secretFileYamlKey(key);
    if (!(fileKey in parent)) continue;
    const location = path.slice(0, -1).concat(fileKey).join('.');
    const target = parent[fileKey];
    delete parent[fileKey];
    if (typeof target !== 'string' || target.trim() === '') {
      issues.push({ path: location, file, message: 'expected the path of a file holding the secret' });
      continue;
    }
    if (parent[name] !== undefined) {
      issues.push({ path: location, file, message: `set either ${name} or ${fileKey}, not both` });
      continue;
    }
    try {
      const value = read(resolve(cwd, target));
      parent[name] = value;
      values.push(value);
    } catch (err) {
      issues.push({ path: location, file, message: `secret file ${target} ${describeReadError(err)}` });
    }
  }
  return { input, fileEnvVars: new Set(), sources: new Map(), issues, values };
}

/** `CALLPILOT_<KEY>_FILE` variables: read each file into its key; naming both the variable and its _FILE is an error. */
export function applySecretFileEnv(input: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string, read: SecretReader = readSecretFile): SecretFileResult {
  const issues: ConfigIssue[] = [];
  const values: string[] = [];
  const sources = new Map<string, string>();
  const fileEnvVars = new Set<string>();
  for (const key of SECRET_KEYS) {
    const fileVar = secretFileEnvVar(key);
    const target = env[fileVar];
    if (target === undefined) continue;
    fileEnvVars.add(fileVar);
    const plainVar = envVarName(key.split('.'));
    if (env[plainVar] !== undefined) {
      issues.push({ path: key, env: fileVar, message: `set either ${plainVar} or ${fileVar}, not both` });
      continue;
    }
    if (target.trim() === '') {
      issues.push({ path: key, env: fileVar, message: 'expected the path of a file holding the secret' });
      continue;
    }
    try {
      const value = read(resolve(cwd, target));
      setIn(input, key.split('.'), value);
      sources.set(key, fileVar);
      values.push(value);
    } catch (err) {
      issues.push({ path: key, env: fileVar, message: `secret file ${target} ${describeReadError(err)}` });
    }
  }
  return { input, fileEnvVars, sources, issues, values };
}

/** The env var names `applySecretFileEnv` understands (so the env pass does not call them unknown keys). */
export function secretFileEnvVars(): Set<string> {
  return new Set(SECRET_KEYS.map(secretFileEnvVar));
}

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES') return 'is not readable by this user';
  if (code === 'EISDIR') return 'is a folder';
  // Our own messages (empty, too big); never the content.
  return err instanceof Error && !code ? err.message : `cannot be read (${code ?? 'error'})`;
}

function parentOf(input: Record<string, unknown>, path: string[]): Record<string, unknown> | undefined {
  let node: unknown = input;
  for (const segment of path.slice(0, -1)) {
    if (!isPlainObject(node)) return undefined;
    node = node[segment];
  }
  return isPlainObject(node) ? node : undefined;
}

function setIn(target: Record<string, unknown>, path: string[], value: string): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (isPlainObject(next)) node = next;
    else {
      const created: Record<string, unknown> = {};
      node[segment] = created;
      node = created;
    }
  }
  node[path.at(-1) as string] = value;
}

/** The secret values a loaded config holds (non-empty), e.g. for a check that none of them reaches a log. */
export function secretValuesOf(config: unknown): string[] {
  const values: string[] = [];
  for (const key of SECRET_KEYS) {
    let node: unknown = config;
    for (const segment of key.split('.')) node = isPlainObject(node) ? node[segment] : undefined;
    if (typeof node === 'string' && node !== '') values.push(node);
  }
  return values;
}
