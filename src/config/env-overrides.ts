import { z } from 'zod';
import type { ConfigIssue } from './config-error.ts';
import { secretFileEnvVars } from './secret-files.ts';
import { ENV_PREFIX, envVarName, isPlainObject, listConfigKeys, type ConfigKey } from './schema-tree.ts';

/**
 * Environment variables starting with CALLPILOT_ that are not config keys but are read elsewhere
 * (config file location, model search folder). Everything else with the prefix must name a key.
 */
export const NON_KEY_ENV_VARS: ReadonlySet<string> = new Set([
  'CALLPILOT_CONFIG',
  'CALLPILOT_MODELS',
  'CALLPILOT_MODELS_LOCK',
  // The CLI's API credentials and address (simulate, campaign): an operator's shell keeps them exported.
  'CALLPILOT_TOKEN',
  'CALLPILOT_URL',
]);

export interface EnvOverrideResult {
  /** Input with env values merged in (a copy; the original is untouched). */
  input: Record<string, unknown>;
  /** Dotted key path -> env var that set it, for locating validation errors. */
  sources: Map<string, string>;
  issues: ConfigIssue[];
}

/** Merge `CALLPILOT_<SECTION>_<KEY>` variables into the raw config, parsing each by its key's schema type. */
export function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  root: z.ZodObject,
): EnvOverrideResult {
  const keysByEnv = new Map<string, ConfigKey>();
  for (const key of listConfigKeys(root)) keysByEnv.set(envVarName(key.path), key);

  const input = structuredClone(raw);
  const sources = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  const matched: { name: string; key: ConfigKey; text: string }[] = [];
  // `CALLPILOT_<SECRET KEY>_FILE`: read by applySecretFileEnv after this pass.
  const fileVars = secretFileEnvVars();

  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined || NON_KEY_ENV_VARS.has(name) || fileVars.has(name)) continue;
    const key = keysByEnv.get(name);
    if (!key) {
      issues.push({ path: '', env: name, message: `${name} names no config key${suggest(name, keysByEnv)}` });
      continue;
    }
    matched.push({ name, key, text });
  }
  // Whole objects first so that a more specific variable wins over a JSON object that also sets its key.
  matched.sort((a, b) => a.key.path.length - b.key.path.length);

  for (const { name, key, text } of matched) {
    const parsed = parseEnvValue(text, key.schema);
    const dotted = key.path.join('.');
    if (!parsed.ok) {
      issues.push({ path: dotted, env: name, message: parsed.message });
      continue;
    }
    setIn(input, key.path, parsed.value);
    sources.set(dotted, name);
  }
  return { input, sources, issues };
}

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

function parseEnvValue(text: string, schema: z.ZodType): Parsed {
  if (schema instanceof z.ZodNumber) {
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(value)) return { ok: false, message: `expected a number, got ${JSON.stringify(text)}` };
    return { ok: true, value };
  }
  if (schema instanceof z.ZodBoolean) {
    const normalized = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(normalized)) return { ok: true, value: true };
    if (['false', '0', 'no', 'off'].includes(normalized)) return { ok: true, value: false };
    return { ok: false, message: `expected true or false, got ${JSON.stringify(text)}` };
  }
  if (
    schema instanceof z.ZodArray ||
    schema instanceof z.ZodTuple ||
    schema instanceof z.ZodObject ||
    schema instanceof z.ZodRecord
  ) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      return { ok: false, message: `expected JSON (${(err as Error).message}), got ${JSON.stringify(text)}` };
    }
  }
  if (schema instanceof z.ZodString || schema instanceof z.ZodEnum) return { ok: true, value: text };
  // Unions and literals (e.g. `8000 | 16000`): take the JSON reading when there is one, else the raw text,
  // and let the schema decide.
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: true, value: text };
  }
}

function setIn(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (isPlainObject(next)) {
      node = next;
    } else {
      const created: Record<string, unknown> = {};
      node[segment] = created;
      node = created;
    }
  }
  const last = path[path.length - 1] as string;
  const existing = node[last];
  // A JSON object for a section merges into what the file says rather than wiping sibling keys.
  node[last] = isPlainObject(existing) && isPlainObject(value) ? { ...existing, ...value } : value;
}

function suggest(name: string, keysByEnv: Map<string, ConfigKey>): string {
  // Offer the keys sharing the longest leading segments, e.g. CALLPILOT_SERVER_PROT -> CALLPILOT_SERVER_PORT.
  const segments = name.split('_');
  for (let length = segments.length - 1; length >= 2; length--) {
    const prefix = `${segments.slice(0, length).join('_')}_`;
    const candidates = [...keysByEnv.entries()].filter(([known, key]) => known.startsWith(prefix) && !key.isObject).map(([known]) => known);
    if (candidates.length > 0) return ` (keys nearby: ${candidates.slice(0, 4).join(', ')}${candidates.length > 4 ? ', ...' : ''})`;
  }
  return '';
}
