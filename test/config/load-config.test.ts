import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, configSchema, loadConfig, loadConfigWithSource, renderConfigReference, configReferenceRows } from '../../src/config/index.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'callpilot-config-'));

function writeConfig(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

function expectConfigError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    assert.instance(err, ConfigError);
    return err as ConfigError;
  }
  throw new assert.Assertion({ message: 'expected a ConfigError', operator: 'throws', expects: 'ConfigError', actual: 'no error' });
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('embedded defaults when no file exists', () => {
  const loaded = loadConfigWithSource({ cwd: scratch, env: {} });
  assert.is(loaded.file, undefined);
  assert.is(loaded.config.server.port, 8080);
  assert.is(loaded.config.speech.endpoint.trailingSilenceMs, 700);
  assert.is(loaded.config.pbx.asterisk, undefined);
});

test('shipped configs/callpilot.yaml is found by default and states exactly the defaults', () => {
  const loaded = loadConfigWithSource({ cwd: repoRoot, env: {} });
  assert.is(loaded.file, join(repoRoot, 'configs/callpilot.yaml'));
  assert.equal(loaded.config, configSchema.parse({}));
});

test('values from the file are applied and the rest defaulted', () => {
  const file = writeConfig('partial.yaml', 'server:\n  port: 9001\nspeech:\n  endpoint:\n    trailingSilenceMs: 450\n');
  const config = loadConfig({ path: file, env: {} });
  assert.is(config.server.port, 9001);
  assert.is(config.server.host, '127.0.0.1');
  assert.is(config.speech.endpoint.trailingSilenceMs, 450);
  assert.is(config.speech.endpoint.maxUtteranceMs, 15000);
});

test('env overrides: numbers, nested keys, booleans, JSON arrays, optional sections', () => {
  const file = writeConfig('env.yaml', 'server:\n  port: 9001\n');
  const config = loadConfig({
    path: file,
    env: {
      CALLPILOT_SERVER_PORT: '9000',
      CALLPILOT_SPEECH_ENDPOINT_TRAILING_SILENCE_MS: '500',
      CALLPILOT_DIALOG_BARGE_IN_ENABLED: 'false',
      CALLPILOT_DIALOG_BARGE_IN_BACKCHANNELS: '["嗯","好的"]',
      CALLPILOT_PBX_ASTERISK_URL: 'http://10.1.2.3:8088',
      CALLPILOT_PBX_ASTERISK_RTP_PORT_RANGE: '[30000, 30100]',
      CALLPILOT_PBX_FREESWITCH_SAMPLE_RATE: '8000',
      CALLPILOT_PBX_FREESWITCH_PASSWORD: 'esl-pw-from-env',
      CALLPILOT_MODELS: '/somewhere', // read by the model lookup, not a key
      PATH: '/usr/bin',
    },
  });
  assert.is(config.server.port, 9000);
  assert.is(config.speech.endpoint.trailingSilenceMs, 500);
  assert.is(config.dialog.bargeIn.enabled, false);
  assert.equal(config.dialog.bargeIn.backchannels, ['嗯', '好的']);
  assert.ok(config.pbx.asterisk);
  assert.is(config.pbx.asterisk.url, 'http://10.1.2.3:8088');
  assert.is(config.pbx.asterisk.app, 'callpilot');
  assert.equal(config.pbx.asterisk.rtpPortRange, [30000, 30100]);
  // A union of number literals is read as a number.
  assert.is(config.pbx.freeswitch?.sampleRate, 8000);
});

test('FreeSWITCH configured without an ESL password is an error naming the key and its _FILE form; no ClueCon default', () => {
  for (const env of [{ CALLPILOT_PBX_FREESWITCH_PORT: '8021' }, { CALLPILOT_PBX_FREESWITCH_PORT: '8021', CALLPILOT_PBX_FREESWITCH_PASSWORD: '' }]) {
    const err = expectConfigError(() => loadConfig({ cwd: scratch, env }));
    const issue = err.issues.find((i) => i.path === 'pbx.freeswitch.password');
    assert.ok(issue, err.message);
    assert.match(err.message, /pbx\.freeswitch\.password: required when FreeSWITCH is configured/);
    assert.match(issue.message, /CALLPILOT_PBX_FREESWITCH_PASSWORD_FILE/);
  }
  assert.is(loadConfig({ cwd: scratch, env: {} }).pbx.freeswitch, undefined, 'no FreeSWITCH, no password needed');
  assert.is(loadConfig({ cwd: scratch, env: { CALLPILOT_PBX_FREESWITCH_PASSWORD: 's3cret-esl' } }).pbx.freeswitch?.password, 's3cret-esl');
});

test('env var naming no key is an error with a hint', () => {
  const err = expectConfigError(() => loadConfig({ cwd: scratch, env: { CALLPILOT_SERVER_PROT: '1' } }));
  assert.is(err.issues.length, 1);
  assert.is(err.issues[0].env, 'CALLPILOT_SERVER_PROT');
  assert.match(err.issues[0].message, /names no config key/);
  assert.match(err.issues[0].message, /CALLPILOT_SERVER_PORT/);
});

test('env values are parsed by type and bad ones name the variable', () => {
  const err = expectConfigError(() =>
    loadConfig({ cwd: scratch, env: { CALLPILOT_SERVER_PORT: 'eighty', CALLPILOT_MEDIA_RECORD: 'maybe', CALLPILOT_SPEECH_VAD_THRESHOLD: '2' } }),
  );
  const byPath = new Map(err.issues.map((issue) => [issue.path, issue]));
  assert.is(byPath.get('server.port')?.env, 'CALLPILOT_SERVER_PORT');
  assert.is(byPath.get('media.record')?.env, 'CALLPILOT_MEDIA_RECORD');
  // Parsed fine as a number, rejected by the schema's range: still attributed to the env var.
  assert.is(byPath.get('speech.vad.threshold')?.env, 'CALLPILOT_SPEECH_VAD_THRESHOLD');
  assert.match(err.message, /CALLPILOT_SERVER_PORT/);
});

test('unknown keys are rejected at every depth with file and line', () => {
  const file = writeConfig(
    'unknown.yaml',
    ['server:', '  port: 8080', '  prot: 1', 'speech:', '  endpoint:', '    trailingSilenceMS: 300', 'pbx:', '  asterisk:', '    urll: http://x', 'bogus: 1', ''].join('\n'),
  );
  const err = expectConfigError(() => loadConfig({ path: file, env: {} }));
  const byPath = new Map(err.issues.map((issue) => [issue.path, issue]));
  assert.equal([...byPath.keys()].sort(), ['bogus', 'pbx.asterisk.urll', 'server.prot', 'speech.endpoint.trailingSilenceMS']);
  assert.is(byPath.get('server.prot')?.line, 3);
  assert.is(byPath.get('speech.endpoint.trailingSilenceMS')?.line, 6);
  assert.is(byPath.get('pbx.asterisk.urll')?.line, 9);
  assert.is(byPath.get('bogus')?.line, 10);
  assert.match(byPath.get('server.prot')?.message ?? '', /known here: host, port/);
  assert.match(err.message, /unknown\.yaml:3/);
});

test('type errors name the key path, file and line', () => {
  const file = writeConfig('types.yaml', 'log:\n  level: loud\nserver:\n  port: 70000\n');
  const err = expectConfigError(() => loadConfig({ path: file, env: {} }));
  const byPath = new Map(err.issues.map((issue) => [issue.path, issue]));
  assert.is(byPath.get('log.level')?.line, 2);
  assert.is(byPath.get('server.port')?.line, 4);
  assert.ok(byPath.get('server.port')?.file?.endsWith('types.yaml'));
});

test('YAML syntax errors and non-mapping files are reported with their file', () => {
  const broken = writeConfig('broken.yaml', 'server:\n  port: [1, 2\n');
  const syntax = expectConfigError(() => loadConfig({ path: broken, env: {} }));
  assert.match(syntax.issues[0].message, /YAML syntax/);
  assert.ok(syntax.issues[0].line);
  const list = writeConfig('list.yaml', '- a\n- b\n');
  const notMap = expectConfigError(() => loadConfig({ path: list, env: {} }));
  assert.match(notMap.issues[0].message, /mapping/);
});

test('empty file means defaults; explicit missing file is an error', () => {
  const empty = writeConfig('empty.yaml', '# nothing\n');
  assert.is(loadConfig({ path: empty, env: {} }).server.port, 8080);
  const err = expectConfigError(() => loadConfig({ path: join(scratch, 'nope.yaml'), env: {} }));
  assert.match(err.message, /not found/);
});

test('CALLPILOT_CONFIG points at the file and relative paths resolve against cwd', () => {
  mkdirSync(join(scratch, 'etc'), { recursive: true });
  writeFileSync(join(scratch, 'etc/cp.yaml'), 'server:\n  port: 7001\n');
  assert.is(loadConfig({ cwd: scratch, env: { CALLPILOT_CONFIG: 'etc/cp.yaml' } }).server.port, 7001);
});

test('config reference lists every leaf key with type, default, env var and description', () => {
  const rows = configReferenceRows();
  const envNames = rows.map((row) => row.envVar);
  assert.is(new Set(envNames).size, envNames.length, 'env var names are unique');
  const port = rows.find((row) => row.key === 'server.port');
  assert.ok(port);
  assert.is(port.envVar, 'CALLPILOT_SERVER_PORT');
  assert.is(port.defaultValue, '8080');
  assert.match(port.type, /integer/);
  assert.ok(port.description.length > 0);
  assert.ok(rows.some((row) => row.key === 'pbx.asterisk.url' && row.envVar === 'CALLPILOT_PBX_ASTERISK_URL'));
  assert.ok(rows.some((row) => row.key === 'speech.endpoint.trailingSilenceMs' && row.envVar === 'CALLPILOT_SPEECH_ENDPOINT_TRAILING_SILENCE_MS'));
  const table = renderConfigReference();
  assert.match(table, /^\| Key \| Type \| Default \| Env var \| Description \|/);
  assert.is(table.trim().split('\n').length, rows.length + 2);
});

test.run();
