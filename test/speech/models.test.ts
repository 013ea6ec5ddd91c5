import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listModels, ModelNotFoundError, resolveModel } from '../../src/speech/models/model-lookup.ts';
import { ModelPullError, pullModel, type PullProgress } from '../../src/speech/models/model-pull.ts';
import { MODEL_REGISTRY, type ModelSpec } from '../../src/speech/models/model-registry.ts';
import { SHARED_MODELS } from './speech-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'callpilot-models-test-'));
let server: Server;
let baseUrl = '';
let archive: Buffer;
let archiveSha = '';
const emptyEnv = { HOME: join(work, 'home') };

function spec(over: Partial<ModelSpec>): ModelSpec {
  return {
    name: 'fake-asr',
    kind: 'asr',
    family: 'nemoCtc',
    streaming: true,
    files: { model: 'model.onnx', tokens: 'tokens.txt' },
    description: 'made by the test',
    url: `${baseUrl}/fake-asr.tar.bz2`,
    packaging: 'tar.bz2',
    archiveRoot: 'fake-asr-release-1',
    sampleRate: 16000,
    ...over,
  };
}

test.before(async () => {
  const src = join(work, 'src', 'fake-asr-release-1');
  mkdirSync(src, { recursive: true });
  // Random bytes do not compress, so the archive is big enough to arrive in several chunks.
  writeFileSync(join(src, 'model.onnx'), randomBytes(300_000));
  writeFileSync(join(src, 'tokens.txt'), '<blk> 0\n是 1\n');
  execFileSync('tar', ['-cjf', join(work, 'fake-asr.tar.bz2'), '-C', join(work, 'src'), 'fake-asr-release-1']);
  archive = readFileSync(join(work, 'fake-asr.tar.bz2'));
  archiveSha = createHash('sha256').update(archive).digest('hex');
  server = createServer((req, res) => {
    if (req.url !== '/fake-asr.tar.bz2') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(archive.length) });
    // Several writes so progress is reported more than once.
    const step = Math.ceil(archive.length / 4);
    for (let i = 0; i < archive.length; i += step) res.write(archive.subarray(i, i + step));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

test('the shared test models resolve by name', () => {
  const tiny = resolveModel('callpilot-tiny-zh-en', { env: emptyEnv, cacheDir: join(work, 'none') });
  assert.is(tiny.source, 'shared');
  assert.ok(tiny.files.model!.endsWith('callpilot-tiny-zh-en/model.onnx'));
  assert.ok(existsSync(tiny.files.tokens!));
  const vad = resolveModel('silero-vad', { env: emptyEnv });
  assert.ok(existsSync(vad.files.model!));
  const sha = createHash('sha256').update(readFileSync(vad.files.model!)).digest('hex');
  assert.is(sha, MODEL_REGISTRY.find((m) => m.name === 'silero-vad')!.sha256, 'registry checksum matches the shared file');
});

test('lookup order: env before modelsDir before shared', () => {
  const envDir = join(work, 'env-models');
  mkdirSync(join(envDir, 'callpilot-tiny-zh-en'), { recursive: true });
  writeFileSync(join(envDir, 'callpilot-tiny-zh-en', 'model.onnx'), 'x');
  writeFileSync(join(envDir, 'callpilot-tiny-zh-en', 'tokens.txt'), 'x');
  const viaEnv = resolveModel('callpilot-tiny-zh-en', { env: { ...emptyEnv, CALLPILOT_MODELS: envDir }, modelsDir: SHARED_MODELS });
  assert.is(viaEnv.source, 'env');
  const viaDir = resolveModel('callpilot-tiny-zh-en', { env: emptyEnv, modelsDir: envDir });
  assert.is(viaDir.source, 'modelsDir');
  const explicit = resolveModel(join(SHARED_MODELS, 'callpilot-tiny-zh-en'), { env: { CALLPILOT_MODELS: envDir } });
  assert.is(explicit.source, 'path');
  assert.is(explicit.spec?.family, 'nemoCtc');
});

test('a missing model names itself and the pull command', () => {
  const name = 'sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20';
  try {
    resolveModel(name, { env: emptyEnv, cacheDir: join(work, 'empty-cache') });
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, ModelNotFoundError);
    assert.match((err as Error).message, name);
    assert.match((err as Error).message, `callpilot models pull ${name}`);
  }
});

test('listModels reports installed and downloadable models', () => {
  const list = listModels({ env: emptyEnv, cacheDir: join(work, 'empty-cache') });
  const tiny = list.find((m) => m.name === 'callpilot-tiny-zh-en')!;
  assert.ok(tiny.installed);
  assert.ok(tiny.testOnly);
  const zipformer = list.find((m) => m.family === 'transducer')!;
  assert.not.ok(zipformer.installed);
  assert.match(zipformer.url!, /^https:\/\//);
});

test('pull with a good checksum installs atomically, reporting progress', async () => {
  const cacheDir = join(work, 'cache-good');
  const progress: PullProgress[] = [];
  const res = await pullModel('fake-asr', {
    cacheDir,
    registry: [spec({ sha256: archiveSha })],
    onProgress: (p) => progress.push(p),
  });
  assert.is(res.sha256, archiveSha);
  assert.is(res.bytes, archive.length);
  assert.ok(progress.length >= 2, 'progress reported while downloading');
  assert.is(progress[progress.length - 1]!.receivedBytes, archive.length);
  assert.is(progress[0]!.totalBytes, archive.length);
  assert.equal(readdirSync(cacheDir), ['fake-asr'], 'no temp folders left behind');
  const found = resolveModel('fake-asr', { env: emptyEnv, cacheDir, registry: [spec({})] });
  assert.is(found.source, 'cache');
  assert.is(readFileSync(found.files.model!).length, 300_000);
});

test('pull with a wrong checksum installs nothing', async () => {
  const cacheDir = join(work, 'cache-bad');
  const wrong = 'ab'.repeat(32);
  try {
    await pullModel('fake-asr', { cacheDir, registry: [spec({ sha256: wrong })] });
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance(err, ModelPullError);
    assert.is((err as ModelPullError).code, 'checksum_mismatch');
    assert.is((err as ModelPullError).computedSha256, archiveSha);
  }
  assert.equal(readdirSync(cacheDir), []);
});

test('pull without a known checksum refuses and prints the computed one; --sha256 then installs', async () => {
  const cacheDir = join(work, 'cache-unknown');
  const registry = [spec({})];
  try {
    await pullModel('fake-asr', { cacheDir, registry });
    assert.unreachable('should refuse');
  } catch (err) {
    assert.is((err as ModelPullError).code, 'checksum_unknown');
    assert.match((err as Error).message, archiveSha);
    assert.match((err as Error).message, '--sha256');
  }
  assert.equal(readdirSync(cacheDir), []);
  const res = await pullModel('fake-asr', { cacheDir, registry, sha256: archiveSha });
  assert.ok(existsSync(join(res.dir, 'tokens.txt')));
  await pullModel('fake-asr', { cacheDir, registry, sha256: archiveSha }).then(
    () => assert.unreachable('second pull should say it exists'),
    (err: ModelPullError) => assert.is(err.code, 'exists'),
  );
});

test('local-only and unknown models cannot be pulled', async () => {
  await pullModel('callpilot-tiny-zh-en', { cacheDir: join(work, 'c2') }).then(
    () => assert.unreachable(),
    (err: ModelPullError) => assert.is(err.code, 'not_downloadable'),
  );
  await pullModel('no-such-model', { cacheDir: join(work, 'c2') }).then(
    () => assert.unreachable(),
    (err: ModelPullError) => assert.is(err.code, 'unknown_model'),
  );
});

test.run();
