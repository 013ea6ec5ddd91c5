import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import { applyEnvOverrides } from './env-overrides.ts';
import { configSchema, type Config } from './schema.ts';
import { applySecretFileEnv, resolveYamlSecretFiles } from './secret-files.ts';
import { yamlPathPosition } from './yaml-position.ts';
import { findUnknownKeys, isPlainObject, unwrapSchema } from './schema-tree.ts';

/** Looked up relative to the working directory when no path is given. */
export const DEFAULT_CONFIG_PATH = 'configs/callpilot.yaml';

export interface LoadConfigOptions {
  /** Config file; falls back to $CALLPILOT_CONFIG, then `configs/callpilot.yaml` if it exists, then built-in defaults. */
  path?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against; defaults to process.cwd(). */
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file read, or undefined when running on built-in defaults. */
  file?: string;
}

/** Read, merge env overrides into, and validate the config. Throws ConfigError listing every problem. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  return loadConfigWithSource(opts).config;
}

export function loadConfigWithSource(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = findConfigFile(opts.path ?? env.CALLPILOT_CONFIG, cwd);
  const shownFile = file ? displayPath(file, cwd) : undefined;

  let raw: Record<string, unknown> = {};
  let source: YamlSource | undefined;
  if (file) {
    source = readYaml(file, shownFile as string);
    raw = source.value;
  }

  // Secrets given as files: `<key>File:` in YAML first, then env values, then `CALLPILOT_<KEY>_FILE` over both.
  const yamlSecrets = resolveYamlSecretFiles(raw, cwd, shownFile);
  const overridden = applyEnvOverrides(yamlSecrets.input, env, configSchema);
  const envSecrets = applySecretFileEnv(overridden.input, env, cwd);
  for (const [key, name] of envSecrets.sources) overridden.sources.set(key, name);
  const yamlSecretIssues = yamlSecrets.issues.map((issue) => ({ ...issue, ...source?.position(issue.path.split('.'), true) }));
  const issues: ConfigIssue[] = [...(source?.issues ?? []), ...yamlSecretIssues, ...overridden.issues, ...envSecrets.issues];
  const locate = (path: (string | number)[], atKey: boolean): Partial<ConfigIssue> => {
    const dotted = path.map(String);
    for (let length = dotted.length; length > 0; length--) {
      const envName = overridden.sources.get(dotted.slice(0, length).join('.'));
      if (envName) return { env: envName };
    }
    if (!source) return {};
    return { file: shownFile, ...source.position(path, atKey) };
  };

  if (source && source.issues.length > 0) throw new ConfigError(issues);

  for (const path of findUnknownKeys(overridden.input, configSchema)) {
    const known = knownKeysAt(path.slice(0, -1));
    issues.push({
      path: path.join('.'),
      message: `unknown key${known.length > 0 ? ` (known here: ${known.join(', ')})` : ''}`,
      ...locate(path, true),
    });
  }

  const result = configSchema.safeParse(overridden.input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      // Unknown keys were already reported above, with locations, at every depth.
      if (issue.code === 'unrecognized_keys') continue;
      const path = issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
      issues.push({ path: path.join('.'), message: issue.message, ...locate(path, false) });
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  return { config: result.data, file };
}

function findConfigFile(explicit: string | undefined, cwd: string): string | undefined {
  if (explicit !== undefined && explicit !== '') {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError([{ path: '', file: explicit, message: 'config file not found' }]);
    return file;
  }
  const fallback = resolve(cwd, DEFAULT_CONFIG_PATH);
  return existsSync(fallback) ? fallback : undefined;
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

interface YamlSource {
  value: Record<string, unknown>;
  issues: ConfigIssue[];
  /** 1-based line/column of the key (atKey) or value at `path`, or of its nearest ancestor present in the file. */
  position(path: (string | number)[], atKey: boolean): { line?: number; column?: number };
}

function readYaml(file: string, shownFile: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', file: shownFile, message: `cannot read config file: ${(err as Error).message}` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issues: ConfigIssue[] = doc.errors.map((err) => ({
    path: '',
    file: shownFile,
    message: `YAML syntax: ${err.message.split('\n')[0]}`,
    ...at(err.pos[0]),
  }));

  let value: Record<string, unknown> = {};
  if (issues.length === 0) {
    const js: unknown = doc.toJS();
    if (js === null || js === undefined) {
      value = {};
    } else if (isPlainObject(js)) {
      value = js;
    } else {
      issues.push({ path: '', file: shownFile, line: 1, message: 'the config file must be a mapping of sections (server:, log:, ...)' });
    }
  }
  return {
    value,
    issues,
    position: (path, atKey) => {
      // Nothing of the path in the file (a key from the environment or a default): no line to point at.
      const pos = yamlPathPosition(doc, lineCounter, path, atKey);
      return pos.matched > 0 ? { line: pos.line, column: pos.column } : {};
    },
  };
}

function knownKeysAt(path: (string | number)[]): string[] {
  let schema: z.ZodType = configSchema;
  for (const segment of path) {
    const { inner } = unwrapSchema(schema);
    if (inner instanceof z.ZodObject) {
      const child = (inner.shape as Record<string, z.ZodType>)[String(segment)];
      if (!child) return [];
      schema = child;
    } else if (inner instanceof z.ZodArray) {
      schema = inner.element as z.ZodType;
    } else {
      return [];
    }
  }
  const { inner } = unwrapSchema(schema);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}
