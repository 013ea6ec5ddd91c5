import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, configReferenceRows, configSchema, loadConfig, SECRET_KEYS, secretValuesOf } from '../../src/config/index.ts';
import { listConfigKeys } from '../../src/config/schema-tree.ts';
import { createLogger } from '../../src/observability/index.ts';

/*
 * Issue 9: secrets (ARI/ESL passwords, the PostgreSQL URL, API keys) can come from files, the way Docker and
 * Kubernetes mount them, and never show up in a log line or a config error.
 */

const scratch = mkdtempSync(join(tmpdir(), 'callpilot-secrets-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function secretFile(name: string, content: string): string {
  const file = join(scratch, name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    assert.instance(err, ConfigError);
    return err as ConfigError;
  }
  throw new assert.Assertion({ message: 'expected a ConfigError', operator: 'throws', expects: 'ConfigError', actual: 'no error' });
}

const ARI_SECRET = 'ari-7f3c9e1d-not-in-logs';

test('every key that looks like a secret can be given as a file', () => {
  const looksSecret = /(password|passwd|secret|apikey|token|privatekey|key$)|^store\.url$/i;
  const keys = listConfigKeys(configSchema)
    .filter((k) => !k.isObject)
    .map((k) => k.path.join('.'))
    // Model file names (speech.*.tokens) and flow keys are not secrets.
    .filter((k) => looksSecret.test(k) && !/^speech\./.test(k));
  assert.ok(keys.includes('pbx.asterisk.password'));
  for (const key of keys) assert.ok(SECRET_KEYS.includes(key), `${key} looks like a secret but is not in SECRET_KEYS`);
  for (const key of SECRET_KEYS) assert.ok(listConfigKeys(configSchema).some((k) => k.path.join('.') === key), `${key} is no config key`);
});

test('CALLPILOT_<KEY>_FILE reads the secret from the file, dropping the trailing newline', () => {
  const file = secretFile('ari', `${ARI_SECRET}\n`);
  const pg = secretFile('pg-url', 'postgres://callpilot:pg-pass-81@db:5432/callpilot\r\n');
  const config = loadConfig({ cwd: scratch, env: { CALLPILOT_PBX_ASTERISK_PASSWORD_FILE: file, CALLPILOT_STORE_URL_FILE: 'pg-url' } });
  assert.is(config.pbx.asterisk?.password, ARI_SECRET);
  // Relative paths are taken from the working directory, like every other path in the config.
  assert.is(config.store.url, 'postgres://callpilot:pg-pass-81@db:5432/callpilot');
  assert.ok(pg.endsWith('pg-url'));
  assert.equal(secretValuesOf(config).sort(), [ARI_SECRET, 'postgres://callpilot:pg-pass-81@db:5432/callpilot'].sort());
});

test('`<key>File:` beside the key in YAML, and the env _FILE wins over it', () => {
  const yamlSecret = secretFile('esl', 'esl-from-yaml\n');
  const envSecret = secretFile('esl-env', 'esl-from-env');
  const configFile = join(scratch, 'with-files.yaml');
  writeFileSync(configFile, `pbx:\n  freeswitch:\n    host: 10.0.0.9\n    passwordFile: ${yamlSecret}\n`);
  assert.is(loadConfig({ path: configFile, cwd: scratch, env: {} }).pbx.freeswitch?.password, 'esl-from-yaml');
  assert.is(loadConfig({ path: configFile, cwd: scratch, env: { CALLPILOT_PBX_FREESWITCH_PASSWORD_FILE: envSecret } }).pbx.freeswitch?.password, 'esl-from-env');
  // A plain env value also wins over the YAML file (env beats the config file, as for every key).
  assert.is(loadConfig({ path: configFile, cwd: scratch, env: { CALLPILOT_PBX_FREESWITCH_PASSWORD: 'plain-env' } }).pbx.freeswitch?.password, 'plain-env');
});

test('bad secret files are clear errors that never quote the secret', () => {
  const file = secretFile('ari-2', ARI_SECRET);
  const both = configError(() => loadConfig({ cwd: scratch, env: { CALLPILOT_PBX_ASTERISK_PASSWORD: ARI_SECRET, CALLPILOT_PBX_ASTERISK_PASSWORD_FILE: file } }));
  assert.match(both.message, /set either CALLPILOT_PBX_ASTERISK_PASSWORD or CALLPILOT_PBX_ASTERISK_PASSWORD_FILE/);

  const missing = configError(() => loadConfig({ cwd: scratch, env: { CALLPILOT_DIALOG_LLM_API_KEY_FILE: join(scratch, 'nope') } }));
  assert.match(missing.message, /dialog\.llm\.apiKey: secret file .*nope does not exist \(env CALLPILOT_DIALOG_LLM_API_KEY_FILE\)/);

  const empty = configError(() => loadConfig({ cwd: scratch, env: { CALLPILOT_PBX_ASTERISK_PASSWORD_FILE: secretFile('empty', '\n') } }));
  assert.match(empty.message, /is empty/);

  const folder = configError(() => loadConfig({ cwd: scratch, env: { CALLPILOT_PBX_ASTERISK_PASSWORD_FILE: scratch } }));
  assert.match(folder.message, /is a folder|cannot be read/);

  // A file whose content fails validation: the error names the key and the variable, not the content.
  const badUrl = configError(() => loadConfig({ cwd: scratch, env: { CALLPILOT_STORE_URL_FILE: secretFile('bad-url', 'mysql://root:hunter2-secret@db/x') } }));
  assert.match(badUrl.message, /store\.url: .*\(env CALLPILOT_STORE_URL_FILE\)/);
  assert.not.match(badUrl.message, /hunter2-secret/);

  const yaml = join(scratch, 'both.yaml');
  writeFileSync(yaml, `pbx:\n  asterisk:\n    password: inline\n    passwordFile: ${file}\n`);
  const inYaml = configError(() => loadConfig({ path: yaml, cwd: scratch, env: {} }));
  assert.match(inYaml.message, /pbx\.asterisk\.passwordFile: set either password or passwordFile, not both \(.*both\.yaml:4:5\)/);
  for (const err of [both, missing, empty, folder, inYaml]) assert.not.ok(err.message.includes(ARI_SECRET), err.message);

  // _FILE exists only for secret keys: anything else is still an unknown variable.
  const unknown = configError(() => loadConfig({ cwd: scratch, env: { CALLPILOT_SERVER_PORT_FILE: file } }));
  assert.match(unknown.message, /CALLPILOT_SERVER_PORT_FILE names no config key/);
});

test('the config reference tells how to give each secret as a file', () => {
  const rows = configReferenceRows();
  for (const key of SECRET_KEYS) {
    const row = rows.find((r) => r.key === key);
    assert.ok(row, key);
    assert.match(row.description, new RegExp(`${row.envVar}_FILE`));
  }
});

test('log lines never carry a password, API key or auth header, at the top level or one down', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'info' }, sink);
  log.info({ password: ARI_SECRET }, 'connecting');
  log.info({ ari: { url: 'http://pbx:8088', password: ARI_SECRET, apiKey: ARI_SECRET } }, 'ARI settings');
  log.child({ headers: { authorization: `Bearer ${ARI_SECRET}` } }).warn('upstream refused');
  assert.is(lines.length, 3);
  for (const line of lines) {
    assert.not.ok(line.includes(ARI_SECRET), line);
    assert.ok(line.includes('[secret]'), line);
  }
});

test.run();
