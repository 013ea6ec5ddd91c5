export * from './schema.ts';
export { ConfigError, type ConfigIssue } from './config-error.ts';
export { loadConfig, loadConfigWithSource, DEFAULT_CONFIG_PATH, type LoadConfigOptions, type LoadedConfig } from './load-config.ts';
export { NON_KEY_ENV_VARS } from './env-overrides.ts';
export { envVarName } from './schema-tree.ts';
export { renderConfigReference, configReferenceRows, type ConfigReferenceRow } from './config-reference.ts';
export { SECRET_KEYS, secretFileEnvVar, secretFileYamlKey, readSecretFile, secretValuesOf } from './secret-files.ts';
export { yamlPathPosition, type YamlPath, type YamlPosition } from './yaml-position.ts';
