import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PrerollRing } from '../../src/speech/call-speech-preroll.ts';
import { TurnModelSkipped, type TurnModel } from '../../src/speech/turn-model.ts';
import { TurnModelRunner } from '../../src/speech/turn-model-runner.ts';
import { capturingTestLog } from '../support/run-log.ts';

/** A turn model whose answers the test gives by hand, recording the audio of each run. */
class ManualTurnModel implements TurnModel {
  readonly runs: Array<{ audio: Float32Array; signal?: AbortSignal; answer: (p: number) => void; fail: (err: Error) => void }> = [];
  completeProbability(audio16k: Float32Array, signal?: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => this.runs.push({ audio: audio16k, signal, answer: resolve, fail: reject }));
  }
  async close(): Promise<void> {}
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(afterSilenceMs = 120) {
  const model = new ManualTurnModel();
  const ring = new PrerollRing(8 * 16000);
  // 10 s of audio whose sample values are their own index (mod 1000), so a run's audio shows where it was cut.
  const samples = Float32Array.from({ length: 10 * 16000 }, (_, i) => (i % 1000) / 1000);
  ring.write(samples);
  const logs = capturingTestLog();
  let answers = 0;
  const runner = new TurnModelRunner(model, ring, afterSilenceMs, () => answers++, logs.log);
  return { model, runner, logs, answers: () => answers };
}

test('runs once per pause, after afterSilenceMs, on the utterance audio from its start', async () => {
  const { model, runner, answers } = setup();
  runner.silent(1100, 1000, 150_000);
  assert.is(model.runs.length, 0, 'not before 120 ms of silence');
  runner.silent(1120, 1000, 150_000);
  runner.silent(1140, 1000, 150_000);
  assert.is(model.runs.length, 1, 'one run per pause');
  const audio = model.runs[0]!.audio;
  assert.is(audio.length, 10_000, 'from the utterance start to the newest sample');
  assert.is(audio[0], Math.fround((150_000 % 1000) / 1000));
  assert.is(audio[audio.length - 1], Math.fround((159_999 % 1000) / 1000));
  assert.is(runner.completeProbability, undefined, 'no answer yet');
  model.runs[0]!.answer(0.9);
  await tick();
  assert.is(runner.completeProbability, 0.9);
  assert.is(answers(), 1, 'the decision is asked again when the answer arrives');
});

test('a long utterance gives the model its last 8 s only', () => {
  const { model, runner } = setup();
  runner.silent(5000, 4000, 0);
  assert.is(model.runs[0]!.audio.length, 8 * 16000);
  assert.is(model.runs[0]!.audio[0], Math.fround(((160_000 - 128_000) % 1000) / 1000));
});

test('voice makes a pending answer stale: it is dropped, and the next pause runs again', async () => {
  const { model, runner, answers } = setup();
  runner.silent(1200, 1000, 150_000);
  assert.not.ok(model.runs[0]!.signal!.aborted);
  runner.voiced();
  assert.ok(model.runs[0]!.signal!.aborted, 'the stale run is cancelled if it has not started');
  model.runs[0]!.answer(0.95);
  await tick();
  assert.is(runner.completeProbability, undefined, 'an answer about audio the caller went on from is not used');
  assert.is(answers(), 0);
  runner.silent(2100, 1900, 150_000);
  assert.is(model.runs.length, 2, 'the next pause is judged anew');
  model.runs[1]!.answer(0.2);
  await tick();
  assert.is(runner.completeProbability, 0.2);
  runner.voiced();
  assert.is(runner.completeProbability, undefined, 'a known answer goes stale on voice too');
});

test('voice the ASR found after the pause (a later voice end) starts a new pause', async () => {
  const { model, runner } = setup();
  runner.silent(1200, 1000, 150_000);
  model.runs[0]!.answer(0.9);
  await tick();
  assert.is(runner.completeProbability, 0.9);
  runner.silent(1500, 1450, 150_000);
  assert.is(runner.completeProbability, undefined);
  runner.silent(1600, 1450, 150_000);
  assert.is(model.runs.length, 2);
});

test('a failed run is logged and the decision goes on without the model', async () => {
  const { model, runner, logs, answers } = setup();
  runner.silent(1200, 1000, 150_000);
  model.runs[0]!.fail(new Error('wasm trap'));
  await tick();
  assert.is(runner.completeProbability, undefined);
  assert.is(answers(), 0);
  const line = logs.lines.find((l) => String(l.msg).includes('turn model run failed'));
  assert.ok(line, JSON.stringify(logs.lines));
  assert.match(JSON.stringify(line!.err), /wasm trap/);
  runner.silent(1300, 1000, 150_000);
  assert.is(model.runs.length, 1, 'not retried within the same pause');
});

test('a skipped run (cancelled, or the model backed up) is no failure: not logged as one', async () => {
  const { model, runner, logs } = setup();
  runner.silent(1200, 1000, 150_000);
  model.runs[0]!.fail(new TurnModelSkipped('4 runs already queued'));
  await tick();
  assert.is(runner.completeProbability, undefined);
  assert.not.ok(logs.lines.some((l) => String(l.msg).includes('failed')), JSON.stringify(logs.lines));
  assert.ok(logs.lines.some((l) => l.msg === 'audio turn model run skipped' && l.level === 'debug'), JSON.stringify(logs.lines));
});

test.run();
