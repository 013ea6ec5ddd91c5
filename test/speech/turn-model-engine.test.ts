/**
 * The audio turn model inside the real listening pipeline (Silero VAD, streaming ASR, endpointer) on a real
 * recording: its probability moves the end of the turn, and a failing model changes nothing. The model runs
 * in-thread here and the test waits for each run before pushing the next frame, so the model's answer lands at a
 * known point of the audio clock (in production it lands a frame or two later, from its worker).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { OnnxTurnModel } from '../../src/speech/onnx-turn-model.ts';
import { createSpeechEngine } from '../../src/speech/speech-engine.ts';
import { TurnModelError, type TurnModel } from '../../src/speech/turn-model.ts';
import type { CallSpeechEvents, SpeechEngine } from '../../src/speech/types.ts';
import { capturingTestLog } from '../support/run-log.ts';
import { tailEnergyModelOnnx } from '../support/turn-model-onnx.ts';
import { concat, readWavPcm, SHARED_MODELS, silence } from './speech-fixtures.ts';

type Final = CallSpeechEvents['final'][0];

/** Delegates to the model the test picks, and remembers each run's answer and its pending promise. */
class SwitchableTurnModel implements TurnModel {
  inner: TurnModel | undefined;
  pending: Promise<unknown> | undefined;
  readonly answers: number[] = [];
  completeProbability(audio16k: Float32Array): Promise<number> {
    const run = this.inner ? this.inner.completeProbability(audio16k) : Promise.reject(new Error('model crashed'));
    const answer = run.then((p) => {
      this.answers.push(p);
      return p;
    });
    this.pending = answer.catch(() => undefined);
    return answer;
  }
  async close(): Promise<void> {}
}

const dir = mkdtempSync(join(tmpdir(), 'turn-model-engine-'));
const models: Record<'complete' | 'unsure', OnnxTurnModel> = {} as never;
const switchable = new SwitchableTurnModel();
const logs = capturingTestLog();
const FLOOR = 180;
const CAP = 1200;
let engine: SpeechEngine;

// 有什么事明天再说听不清: a finished sentence (no trailing filler, conjunction or number), 1.5 s of silence after it.
const { pcm: wav } = readWavPcm('zh-0011.wav');
const audio = concat([silence(480, 8000), wav, silence(1500, 8000)]);

test.before(async () => {
  // Constant answers (weight 0): "surely complete" and "surely not yet", whatever the audio.
  for (const [name, bias] of [
    ['complete', 3],
    ['unsure', -3],
  ] as const) {
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, tailEnergyModelOnnx({ tailFrames: 10, weight: 0, bias }));
    models[name] = await OnnxTurnModel.load(file);
  }
  const cfg = speechConfigSchema.parse({
    vad: { poolSize: 1 },
    asr: { decodeIntervalMs: 10 },
    endpoint: { floorMs: FLOOR, capMs: CAP, turnModel: { afterSilenceMs: 120 } },
  });
  engine = await createSpeechEngine(cfg, { log: logs.log, modelsRoot: SHARED_MODELS, turnModel: switchable });
});

test.after(async () => {
  await engine.close();
  await models.complete.close();
  await models.unsure.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Pushes the recording frame by frame; after each frame, lets a model run that it started answer. */
async function runCall(id: string): Promise<Final[]> {
  const call = engine.createCall(id, 8000, 'zh');
  const finals: Final[] = [];
  call.on('final', (f) => finals.push(f));
  const frame = new Int16Array(160);
  for (let at = 0; at + frame.length <= audio.length; at += frame.length) {
    frame.set(audio.subarray(at, at + frame.length));
    call.push(frame);
    const pending = switchable.pending;
    switchable.pending = undefined;
    if (pending) await pending;
    if ((at / frame.length) % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 3));
  }
  for (let i = 0; i < 200 && finals.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  call.close();
  return finals;
}

const waitFor = (p: number): number => Math.round(CAP - p * (CAP - FLOOR));

test('the model ends a finished sentence sooner when it is sure, later when it is not', async () => {
  switchable.inner = models.complete;
  const sure = await runCall('model-sure');
  const pSure = switchable.answers.at(-1)!;
  switchable.inner = models.unsure;
  const unsure = await runCall('model-unsure');
  const pUnsure = switchable.answers.at(-1)!;

  assert.is(sure.length, 1, JSON.stringify(sure));
  assert.is(unsure.length, 1, JSON.stringify(unsure));
  const [a, b] = [sure[0]!, unsure[0]!];
  assert.is(a.text, b.text, 'the same words were heard');
  assert.ok(a.cues?.includes('model') && b.cues?.includes('model'), `cues ${a.cues} / ${b.cues}`);
  assert.ok(pSure > 0.9 && pUnsure < 0.1, `${pSure} ${pUnsure}`);
  assert.is(a.waitMs, waitFor(pSure));
  assert.is(b.waitMs, waitFor(pUnsure));
  // Never before that silence had passed on the audio clock. The sure model's short wait has often passed already
  // when the VAD reports the end (it reports 150-250 ms late, and the end is walked back): then the turn ends on
  // the frame the answer arrives.
  for (const f of [a, b]) assert.ok(f.atMs - f.speechEndMs >= f.waitMs!, JSON.stringify(f));
  assert.ok(b.atMs - b.speechEndMs < b.waitMs! + 60, `the unsure wait is what held the turn: ${JSON.stringify(b)}`);
  assert.ok(b.atMs - b.speechEndMs > a.atMs - a.speechEndMs + 600, `an unsure model holds the turn open far longer: ${JSON.stringify([a, b])}`);
});

test('a failing model is logged with the call id and the turn ends without it', async () => {
  switchable.inner = undefined;
  const finals = await runCall('model-broken');
  assert.is(finals.length, 1);
  assert.not.ok(finals[0]!.cues?.includes('model'), `cues ${finals[0]!.cues}`);
  assert.ok(finals[0]!.waitMs! < CAP, 'decided by the other cues');
  const line = logs.lines.find((l) => String(l.msg).includes('turn model run failed'));
  assert.ok(line, 'the failure is logged');
  assert.is(line!.callId, 'model-broken');
});

test('the engine refuses a configured model that is missing or off-contract at start, before loading the ASR', async () => {
  const wrong = join(dir, 'wrong.onnx');
  writeFileSync(wrong, tailEnergyModelOnnx({ tailFrames: 10, weight: 0, bias: 0, inputShape: [1, 64, 800] }));
  for (const [path, reason] of [
    [join(dir, 'absent.onnx'), /no file at .*absent\.onnx/],
    [wrong, /does not follow Smart Turn's contract.*\[1, 64, 800\]/],
  ] as const) {
    const cfg = speechConfigSchema.parse({ endpoint: { turnModel: { path } }, asr: { model: 'no-such-asr-model' } });
    try {
      await createSpeechEngine(cfg, { log: logs.log, modelsRoot: SHARED_MODELS });
      assert.unreachable(`${path} accepted`);
    } catch (err) {
      // The ASR model named here does not exist: the turn model's reason proves it was checked first.
      assert.instance(err, TurnModelError);
      assert.match((err as Error).message, reason);
    }
  }
});

test('with the key set the engine loads the model into its worker', async () => {
  const cfg = speechConfigSchema.parse({ vad: { poolSize: 1 }, endpoint: { turnModel: { path: join(dir, 'complete.onnx') } } });
  const configured = await createSpeechEngine(cfg, { log: logs.log, modelsRoot: SHARED_MODELS });
  try {
    assert.ok(logs.lines.some((l) => l.msg === 'audio turn model loaded' && String(l.file).endsWith('complete.onnx')));
  } finally {
    await configured.close();
  }
});

test.run();
