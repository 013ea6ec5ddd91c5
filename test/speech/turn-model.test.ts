import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OnnxTurnModel } from '../../src/speech/onnx-turn-model.ts';
import { TurnModelError, TurnModelSkipped, resolveTurnModelPath } from '../../src/speech/turn-model.ts';
import { loadTurnModel } from '../../src/speech/turn-model-client.ts';
import { WhisperLogMel } from '../../src/speech/whisper-log-mel.ts';
import { testLog } from '../support/run-log.ts';
import { expectedProbability, tailEnergyModelOnnx, type TailEnergyModel } from '../support/turn-model-onnx.ts';

const dir = mkdtempSync(join(tmpdir(), 'turn-model-'));
const MODEL: TailEnergyModel = { tailFrames: 40, weight: 6, bias: 0.5 };
const modelFile = join(dir, 'tail-energy.onnx');
writeFileSync(modelFile, tailEnergyModelOnnx(MODEL));

/** 3 s of a voice-like sound (harmonics of 150 Hz) that stops `silentTailMs` before the end. */
function utterance(silentTailMs: number): Float32Array {
  const out = new Float32Array(48000);
  const voiced = out.length - silentTailMs * 16;
  for (let i = 0; i < voiced; i++) {
    let v = 0;
    for (let h = 1; h <= 8; h++) v += Math.sin((2 * Math.PI * 150 * h * i) / 16000) / h;
    out[i] = 0.2 * v;
  }
  return out;
}

const expected = (audio: Float32Array): number => expectedProbability(MODEL, new WhisperLogMel().compute(audio));

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

test('no audio turn model configured (the default): nothing is loaded', async () => {
  assert.is(resolveTurnModelPath(undefined), undefined);
  assert.is(resolveTurnModelPath('  '), undefined);
  assert.is(await loadTurnModel(undefined, testLog()), undefined);
});

test('a configured model that is missing, a folder or not ONNX is refused at start with a clear error', async () => {
  const missing = await rejection(loadTurnModel('smart-turn-v3.onnx', testLog(), dir));
  assert.instance(missing, TurnModelError);
  assert.match(missing.message, /no file at .*smart-turn-v3\.onnx/);
  assert.match((await rejection(loadTurnModel('.', testLog(), dir))).message, /is not a file/);
  writeFileSync(join(dir, 'garbage.onnx'), 'not really a model');
  const garbage = await rejection(OnnxTurnModel.load(join(dir, 'garbage.onnx')));
  assert.instance(garbage, TurnModelError);
  assert.match(garbage.message, /garbage\.onnx is not a model onnxruntime-web can load/);
});

test('a model whose input does not fit [1, 80, 800] float32 is refused, in the engine worker too', async () => {
  const wrong = join(dir, 'wrong-shape.onnx');
  writeFileSync(wrong, tailEnergyModelOnnx({ ...MODEL, inputShape: [1, 80, 400] }));
  const err = await rejection(loadTurnModel(wrong, testLog()));
  assert.instance(err, TurnModelError);
  assert.match(err.message, /does not follow Smart Turn's contract/);
  assert.match(err.message, /input_features float32 \[1, 80, 400\]/);
  const mel = join(dir, 'wrong-bins.onnx');
  writeFileSync(mel, tailEnergyModelOnnx({ ...MODEL, inputShape: ['batch', 128, 800] }));
  assert.match((await rejection(OnnxTurnModel.load(mel))).message, /\[batch, 128, 800\]/);
});

test('the runtime runs a real ONNX file: probabilities follow the audio as the model defines', async () => {
  const model = await OnnxTurnModel.load(modelFile);
  try {
    const stillTalking = utterance(0);
    const stopped = utterance(600);
    const pTalking = await model.completeProbability(stillTalking);
    const pStopped = await model.completeProbability(stopped);
    assert.ok(Math.abs(pTalking - expected(stillTalking)) < 1e-4, `${pTalking} vs ${expected(stillTalking)}`);
    assert.ok(Math.abs(pStopped - expected(stopped)) < 1e-4, `${pStopped} vs ${expected(stopped)}`);
    // Energy at the end of the window reads as "not complete".
    assert.ok(pTalking < 0.3 && pStopped > 0.7, `talking ${pTalking}, stopped ${pStopped}`);
    assert.ok(model.lastCost.featuresMs > 0, 'the run reports its cost');
  } finally {
    await model.close();
  }
});

test('the engine runs the model in a worker thread with the same answer', async () => {
  const model = await loadTurnModel(modelFile, testLog());
  assert.ok(model);
  try {
    const audio = utterance(600);
    const want = expected(audio);
    // The audio is transferred to the worker: it is the caller's no more.
    assert.ok(Math.abs((await model.completeProbability(audio)) - want) < 1e-4);
    assert.is(audio.length, 0, 'transferred, not copied');
    const both = await Promise.all([model.completeProbability(utterance(0)), model.completeProbability(utterance(600))]);
    assert.ok(both[0] < 0.3 && Math.abs(both[1] - want) < 1e-4, 'queued runs answer in order');
  } finally {
    await model!.close();
  }
  assert.instance(await rejection(model!.completeProbability(utterance(0))), TurnModelError);
});

test('the worker model cancels a run the caller made stale and refuses a backlog, then goes on', async () => {
  const model = await loadTurnModel(modelFile, testLog());
  assert.ok(model);
  try {
    const first = model.completeProbability(utterance(600));
    const stale = new AbortController();
    const second = model.completeProbability(utterance(0), stale.signal);
    stale.abort();
    assert.instance(await rejection(second), TurnModelSkipped);
    assert.ok(Math.abs((await first) - expected(utterance(600))) < 1e-4);
    const burst = Array.from({ length: 5 }, () => model.completeProbability(utterance(600)));
    const refused = await rejection(burst[4]!);
    assert.instance(refused, TurnModelSkipped);
    assert.match(refused.message, /4 runs already queued/);
    for (const run of burst.slice(0, 4)) assert.ok((await run) > 0.7);
    assert.ok((await model.completeProbability(utterance(0))) < 0.3, 'still answering after cancels and refusals');
  } finally {
    await model!.close();
  }
});

test('a model that answers something other than a probability fails the run with the reason, and keeps running', async () => {
  const file = join(dir, 'logit.onnx');
  writeFileSync(file, tailEnergyModelOnnx({ tailFrames: 40, weight: 0, bias: 5, logit: true }));
  const model = await loadTurnModel(file, testLog());
  assert.ok(model);
  try {
    const err = await rejection(model.completeProbability(utterance(0)));
    assert.instance(err, TurnModelError);
    assert.match(err.message, /output probabilities is 5, not a probability in 0\.\.1/);
    assert.instance(await rejection(model.completeProbability(utterance(600))), TurnModelError, 'the next run is tried too');
  } finally {
    await model!.close();
  }
});

test('on defaults the speech module never imports onnxruntime-web; a set key without it says what is missing', async () => {
  // A resolve hook that makes onnxruntime-web unresolvable, as on an install without optional dependencies.
  const hook = join(dir, 'no-ort-hook.mjs');
  writeFileSync(
    hook,
    `export async function resolve(specifier, context, next) {
      if (specifier === 'onnxruntime-web') throw Object.assign(new Error('onnxruntime-web is not installed'), { code: 'ERR_MODULE_NOT_FOUND' });
      return next(specifier, context);
    }`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify(`file://${hook}`)});`);
  const speech = fileURLToPath(new URL('../../src/speech/index.ts', import.meta.url));
  const script = `
    const speech = await import(${JSON.stringify(`file://${speech}`)});
    const log = { info() {}, warn() {}, error() {}, child() { return log; } };
    const none = await speech.loadTurnModel(undefined, log);
    let message = 'loaded';
    try { await speech.loadTurnModel(${JSON.stringify(modelFile)}, log); } catch (err) { message = err.message; }
    console.log(JSON.stringify({ none: none === undefined, message }));
    process.exit(0);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', register, '--input-type=module', '-e', script], {
    timeout: 60_000,
  });
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as { none: boolean; message: string };
  assert.ok(out.none, 'unset key: no model');
  assert.match(out.message, /optional dependency onnxruntime-web cannot be loaded/, out.message);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
