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

test('the demo ASR model and Silero VAD ship in the repository (models/), identical to the shared copies', () => {
  const tiny = resolveModel('callpilot-tiny-zh-en', { env: emptyEnv, cacheDir: join(work, 'none') });
  assert.is(tiny.source, 'bundled');
  assert.ok(tiny.files.model!.endsWith('models/callpilot-tiny-zh-en/model.onnx'));
  assert.is(resolveModel('demo', { env: emptyEnv }).dir, tiny.dir, 'the alias finds the same folder');
  // With no ../shared (a fresh clone) the shipped copies are still found.
  const alone = { env: emptyEnv, sharedDir: join(work, 'no-shared'), cacheDir: join(work, 'none') };
  assert.is(resolveModel('callpilot-tiny-zh-en', alone).source, 'bundled');
  assert.is(resolveModel('silero-vad', alone).source, 'bundled');
  const shared = resolveModel('callpilot-tiny-zh-en', { env: emptyEnv, bundledDir: join(work, 'none') });
  assert.is(shared.source, 'shared');
  const digest = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
  assert.is(digest(tiny.files.model!), digest(shared.files.model!), 'shipped demo model = shared test model');
  assert.ok(existsSync(tiny.files.tokens!));
  const vad = resolveModel('silero-vad', { env: emptyEnv });
  assert.ok(existsSync(vad.files.model!));
  const sha = createHash('sha256').update(readFileSync(vad.files.model!)).digest('hex');
  assert.is(sha, MODEL_REGISTRY.find((m) => m.name === 'silero-vad')!.sha256, 'registry checksum matches the shared file');
});

test('lookup order: env before modelsDir before bundled', () => {
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
  // The same folder given twice (CALLPILOT_MODELS and speech.modelsDir, with a trailing slash) is searched once.
  const twice = join(work, 'twice');
  try {
    resolveModel(name, { env: { ...emptyEnv, CALLPILOT_MODELS: twice }, modelsDir: `${twice}/`, cacheDir: join(work, 'empty-cache') });
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, ModelNotFoundError);
    assert.equal((err as ModelNotFoundError).searched.filter((d) => d === join(twice, name)), [join(twice, name)]);
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
    lockFile: join(work, 'good.lock.json'),
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
    await pullModel('fake-asr', { cacheDir, registry: [spec({ sha256: wrong })], lockFile: join(work, 'bad.lock.json') });
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance(err, ModelPullError);
    assert.is((err as ModelPullError).code, 'checksum_mismatch');
    assert.is((err as ModelPullError).computedSha256, archiveSha);
  }
  assert.equal(readdirSync(cacheDir), []);
});

test('pull with no published checksum: trust on first use, recorded in the lock file, later pulls checked', async () => {
  const cacheDir = join(work, 'cache-tofu');
  const lockFile = join(work, 'tofu.lock.json');
  const registry = [spec({})];
  const first = await pullModel('fake-asr', { cacheDir, registry, lockFile });
  assert.is(first.trust, 'first-use');
  assert.ok(first.recorded);
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  assert.is(lock.models['fake-asr'].sha256, archiveSha);
  assert.is(lock.models['fake-asr'].trust, 'first-use');
  assert.is(lock.models['fake-asr'].url, `${baseUrl}/fake-asr.tar.bz2`);
  await pullModel('fake-asr', { cacheDir, registry, lockFile }).then(
    () => assert.unreachable('second pull should say it exists'),
    (err: ModelPullError) => assert.is(err.code, 'exists'),
  );
  // Another node sharing the lock file: the same bytes pass the check...
  const again = await pullModel('fake-asr', { cacheDir: join(work, 'cache-tofu-2'), registry, lockFile });
  assert.is(again.trust, 'first-use', 'still says where the recorded checksum came from');
  assert.not.ok(again.recorded);
  // ... other bytes do not, and nothing is installed.
  const forged = JSON.parse(readFileSync(lockFile, 'utf8'));
  forged.models['fake-asr'].sha256 = 'cd'.repeat(32);
  writeFileSync(lockFile, JSON.stringify(forged));
  const cache3 = join(work, 'cache-tofu-3');
  await pullModel('fake-asr', { cacheDir: cache3, registry, lockFile }).then(
    () => assert.unreachable('a download unlike the lock must be refused'),
    (err: ModelPullError) => {
      assert.is(err.code, 'checksum_mismatch');
      assert.match(err.message, lockFile);
      assert.match(err.message, 'cd'.repeat(32));
    },
  );
  assert.equal(readdirSync(cache3), []);
});

test('--sha256 is checked and recorded; a broken lock file stops the pull', async () => {
  const lockFile = join(work, 'flag.lock.json');
  const res = await pullModel('fake-asr', { cacheDir: join(work, 'cache-flag'), registry: [spec({})], sha256: archiveSha, lockFile });
  assert.is(res.trust, 'flag');
  assert.is(JSON.parse(readFileSync(lockFile, 'utf8')).models['fake-asr'].sha256, archiveSha);
  const broken = join(work, 'broken.lock.json');
  writeFileSync(broken, '{ not json');
  await pullModel('fake-asr', { cacheDir: join(work, 'cache-broken'), registry: [spec({})], lockFile: broken }).then(
    () => assert.unreachable(),
    (err: Error) => assert.match(err.message, 'broken.lock.json'),
  );
});

test('--from a local file (copied from a machine with internet) is verified like a download', async () => {
  const cacheDir = join(work, 'cache-from');
  const lockFile = join(work, 'from.lock.json');
  const res = await pullModel('fake-asr', { cacheDir, registry: [spec({ sha256: archiveSha })], from: join(work, 'fake-asr.tar.bz2'), lockFile });
  assert.is(res.trust, 'pinned');
  assert.ok(existsSync(join(res.dir, 'model.onnx')));
});

test('errors name the URL and the HTTP status or network error, and what to do', async () => {
  const lockFile = join(work, 'err.lock.json');
  await pullModel('fake-asr', { cacheDir: join(work, 'cache-404'), registry: [spec({ url: `${baseUrl}/missing.tar.bz2` })], lockFile }).then(
    () => assert.unreachable(),
    (err: ModelPullError) => {
      assert.is(err.code, 'http');
      assert.match(err.message, `${baseUrl}/missing.tar.bz2`);
      assert.match(err.message, 'HTTP 404');
      assert.match(err.message, '--from FILE');
    },
  );
  // A port nothing listens on (the test server's, after closing a second server on it).
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const deadUrl = `http://127.0.0.1:${deadPort}/fake-asr.tar.bz2`;
  await pullModel('fake-asr', { cacheDir: join(work, 'cache-dead'), registry: [spec({ url: deadUrl })], lockFile }).then(
    () => assert.unreachable(),
    (err: ModelPullError) => {
      assert.is(err.code, 'network');
      assert.match(err.message, deadUrl);
      assert.match(err.message, 'ECONNREFUSED');
      assert.match(err.message, 'no internet access');
    },
  );
  assert.not.ok(existsSync(lockFile), 'nothing recorded for failed pulls');
});

test('local-only and unknown models cannot be pulled', async () => {
  await pullModel('callpilot-tiny-zh-en', { cacheDir: join(work, 'c2'), lockFile: join(work, 'c2.lock.json') }).then(
    () => assert.unreachable(),
    (err: ModelPullError) => assert.is(err.code, 'not_downloadable'),
  );
  await pullModel('no-such-model', { cacheDir: join(work, 'c2'), lockFile: join(work, 'c2.lock.json') }).then(
    () => assert.unreachable(),
    (err: ModelPullError) => assert.is(err.code, 'unknown_model'),
  );
});

test.run();
