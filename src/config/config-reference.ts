import { configSchema } from './schema.ts';
import { KEY_DESCRIPTIONS } from './key-descriptions.ts';
import { SECRET_KEYS, secretFileEnvVar, secretFileYamlKey } from './secret-files.ts';
import { describeType, envVarName, listConfigKeys, type ConfigKey } from './schema-tree.ts';

export interface ConfigReferenceRow {
  key: string;
  type: string;
  /** Default rendered as YAML-ish text; empty when the key has none. */
  defaultValue: string;
  envVar: string;
  description: string;
}

/** One row per settable key: every leaf, plus optional sections that switch a feature on by being present. */
export function configReferenceRows(): ConfigReferenceRow[] {
  return listConfigKeys(configSchema)
    .filter((key) => !key.isObject || key.optional)
    .map((key) => ({
      key: key.path.join('.'),
      type: key.isObject ? 'object' : describeType(key.schema),
      defaultValue: formatDefault(key),
      envVar: envVarName(key.path),
      description: withSecretNote(key.path.join('.'), key.description ?? KEY_DESCRIPTIONS[key.path.join('.')] ?? ''),
    }));
}

function withSecretNote(key: string, description: string): string {
  if (!SECRET_KEYS.includes(key)) return description;
  return `${description} Secret: can be read from a file (\`${secretFileEnvVar(key)}\`, or \`${secretFileYamlKey(key)}:\` in YAML); never logged.`;
}

/** Markdown table of every config key (for the README). */
export function renderConfigReference(): string {
  const header = '| Key | Type | Default | Env var | Description |\n|---|---|---|---|---|';
  const lines = configReferenceRows().map((row) =>
    `| \`${row.key}\` | ${cell(row.type)} | ${row.defaultValue === '' ? '' : `\`${cell(row.defaultValue)}\``} | \`${row.envVar}\` | ${cell(row.description)} |`,
  );
  return `${header}\n${lines.join('\n')}\n`;
}

function formatDefault(key: ConfigKey): string {
  if (key.isObject || key.defaultValue === undefined) return '';
  if (typeof key.defaultValue === 'string') return key.defaultValue === '' ? '""' : key.defaultValue;
  return JSON.stringify(key.defaultValue);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
