import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { speechConfigSchema } from '../../src/speech/config.ts';
import {
  createTtsEngine,
  describeSherpaTtsModel,
  missingSherpaTtsFiles,
  readSherpaTtsModelDir,
  SherpaTtsConfigError,
  SherpaTtsEngine,
  toSherpaTtsConfig,
} from '../../src/speech/tts/index.ts';

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

// Layouts of released sherpa-onnx TTS archives (file names only; no model is on this machine).
const MELO = {
  files: ['model.onnx', 'lexicon.txt', 'tokens.txt', 'date.fst', 'new_heteronym.fst', 'number.fst', 'phone.fst', 'README.md'],
  dirs: ['dict'],
};
const KOKORO = {
  files: ['model.onnx', 'voices.bin', 'tokens.txt', 'lexicon-us-en.txt', 'lexicon-zh.txt', 'date-zh.fst', 'number-zh.fst', 'phone-zh.fst'],
  dirs: ['espeak-ng-data', 'dict'],
};
const MATCHA = {
  files: ['model-steps-3.onnx', 'vocos-22khz-univ.onnx', 'lexicon.txt', 'tokens.txt', 'date.fst', 'number.fst', 'phone.fst'],
  dirs: ['dict'],
};
const PIPER = { files: ['en_US-lessac-medium.onnx', 'en_US-lessac-medium.onnx.json', 'tokens.txt'], dirs: ['espeak-ng-data'] };

test('vits-melo-tts-zh_en: vits with lexicon, jieba dict and ordered rule FSTs', () => {
  const files = describeSherpaTtsModel('/m/melo', MELO);
  assert.is(files.kind, 'vits');
  const config = toSherpaTtsConfig(files, { numThreads: 2 });
  assert.equal(config.model.vits, {
    model: '/m/melo/model.onnx',
    tokens: '/m/melo/tokens.txt',
    lexicon: '/m/melo/lexicon.txt',
    dataDir: '',
    dictDir: '/m/melo/dict',
  });
  assert.is(config.model.numThreads, 2);
  assert.is(config.model.provider, 'cpu');
  assert.is(config.ruleFsts, '/m/melo/date.fst,/m/melo/phone.fst,/m/melo/number.fst,/m/melo/new_heteronym.fst');
  assert.is(config.maxNumSentences, 1);
  assert.is(config.model.matcha, undefined);
});

test('kokoro multi-lang: voices, joined lexicons, espeak data', () => {
  const files = describeSherpaTtsModel('/m/kokoro', KOKORO);
  assert.is(files.kind, 'kokoro');
  const kokoro = toSherpaTtsConfig(files).model.kokoro!;
  assert.is(kokoro.model, '/m/kokoro/model.onnx');
  assert.is(kokoro.voices, '/m/kokoro/voices.bin');
  assert.is(kokoro.lexicon, '/m/kokoro/lexicon-us-en.txt,/m/kokoro/lexicon-zh.txt');
  assert.is(kokoro.dataDir, '/m/kokoro/espeak-ng-data');
  assert.is(toSherpaTtsConfig(files).ruleFsts, '/m/kokoro/date-zh.fst,/m/kokoro/phone-zh.fst,/m/kokoro/number-zh.fst');
});

test('matcha: acoustic model and vocoder', () => {
  const files = describeSherpaTtsModel('/m/matcha', MATCHA);
  assert.is(files.kind, 'matcha');
  const matcha = toSherpaTtsConfig(files).model.matcha!;
  assert.is(matcha.acousticModel, '/m/matcha/model-steps-3.onnx');
  assert.is(matcha.vocoder, '/m/matcha/vocos-22khz-univ.onnx');
  assert.is(matcha.lexicon, '/m/matcha/lexicon.txt');
});

test('matcha without a vocoder is refused with a reason', () => {
  assert.throws(
    () => describeSherpaTtsModel('/m/matcha', { files: ['model-steps-3.onnx', 'tokens.txt'], dirs: [] }),
    (err: Error) => err instanceof SherpaTtsConfigError && /vocoder/.test(err.message),
  );
});

test('piper vits: single onnx, espeak-ng-data instead of a lexicon', () => {
  const vits = toSherpaTtsConfig(describeSherpaTtsModel('/m/piper', PIPER)).model.vits!;
  assert.is(vits.model, '/m/piper/en_US-lessac-medium.onnx');
  assert.is(vits.dataDir, '/m/piper/espeak-ng-data');
  assert.is(vits.lexicon, '');
});

test('missingSherpaTtsFiles names every absent file', () => {
  const files = describeSherpaTtsModel('/m/melo', MELO);
  const present = new Set(['/m/melo/model.onnx', '/m/melo/tokens.txt', '/m/melo/dict', '/m/melo/date.fst']);
  const missing = missingSherpaTtsFiles(files, (p) => present.has(p));
  assert.equal(missing, [
    'lexicon: /m/melo/lexicon.txt',
    'ruleFsts: /m/melo/phone.fst',
    'ruleFsts: /m/melo/number.fst',
    'ruleFsts: /m/melo/new_heteronym.fst',
  ]);
  assert.equal(missingSherpaTtsFiles({ kind: 'matcha', tokens: '/t' }, () => true), ['acousticModel (not given)', 'vocoder (not given)']);
});

test('SherpaTtsEngine.create names the missing files before touching sherpa', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-tts-'));
  try {
    writeFileSync(join(dir, 'model.onnx'), '');
    mkdirSync(join(dir, 'dict'));
    const files = { ...readSherpaTtsModelDir(dir), lexicon: join(dir, 'lexicon.txt') };
    await SherpaTtsEngine.create({ model: files });
    assert.unreachable('create should fail');
  } catch (err) {
    assert.instance(err, SherpaTtsConfigError);
    assert.match((err as Error).message, 'tokens (not given)');
    assert.match((err as Error).message, `lexicon: ${join(dir, 'lexicon.txt')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SherpaTtsEngine.create reports a corrupt model file as a config error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-tts-'));
  try {
    writeFileSync(join(dir, 'model.onnx'), 'not a protobuf');
    writeFileSync(join(dir, 'tokens.txt'), 'a 0\n');
    await SherpaTtsEngine.create({ model: readSherpaTtsModelDir(dir) });
    assert.unreachable('create should fail');
  } catch (err) {
    assert.instance(err, SherpaTtsConfigError);
    assert.match((err as Error).message, 'model.onnx');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('createTtsEngine: engine=sherpa needs a model, and resolves it through the given lookup', async () => {
  const tts = speechConfigSchema.parse({ tts: { engine: 'sherpa' } }).tts;
  const noModel = await failure(createTtsEngine(tts));
  assert.instance(noModel, SherpaTtsConfigError);
  assert.match(noModel.message, 'speech.tts.model');
  const asked: string[] = [];
  const resolveModelDir = (name: string): string => {
    asked.push(name);
    return `/nonexistent/models/${name}`;
  };
  const notThere = await failure(createTtsEngine({ ...tts, model: 'vits-melo-tts-zh_en' }, { resolveModelDir }));
  assert.match(notThere.message, '/nonexistent/models/vits-melo-tts-zh_en');
  assert.equal(asked, ['vits-melo-tts-zh_en']);
});

test('an unreadable model folder is a config error naming it', () => {
  assert.throws(() => readSherpaTtsModelDir('/nonexistent/tts-model'), /\/nonexistent\/tts-model/);
});

test.run();
