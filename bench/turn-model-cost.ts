/**
 * Issue 12: what one run of the optional audio turn model costs on this machine. No trained Smart Turn model can be
 * had here, so the bench builds ONNX files on the same contract (test/support/turn-model-onnx.ts): `tail`, a
 * few-op model (so the figure is the feature extraction and runtime overhead), and `encoder`, a random-weight graph
 * with about the arithmetic of Smart Turn v3's Whisper-tiny encoder in fp32 (so the figure estimates the real
 * model's inference), `encoder-int8` the same with int8 weight matrices as onnxruntime's dynamic quantization writes
 * them (Smart Turn's CPU model is int8). `--file` runs a model you supply instead.
 *
 * Per run it reports the Whisper log-mel features and the inference, in the calling thread (OnnxTurnModel), and
 * the round trip through the engine's worker thread (WorkerTurnModel, what a call waits for), plus the main
 * thread's own share: copying the utterance out of the call's ring.
 *
 *   node --import tsx bench/turn-model-cost.ts [--model tail|encoder|encoder-int8] [--file model.onnx] [--runs 20]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { PrerollRing } from '../src/speech/call-speech-preroll.ts';
import { OnnxTurnModel } from '../src/speech/onnx-turn-model.ts';
import { TURN_MODEL_INPUT_SAMPLES } from '../src/speech/turn-model.ts';
import { WorkerTurnModel } from '../src/speech/turn-model-client.ts';
import { utteranceAudio } from '../src/speech/turn-model-runner.ts';
import { tailEnergyModelOnnx, whisperTinySizedModelOnnx } from '../test/support/turn-model-onnx.ts';
import { distribution, seededRandom, type Distribution } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'tail' },
    file: { type: 'string' },
    runs: { type: 'string', default: '20' },
  },
});
const runs = Number(values.runs);
if (!(runs > 0)) throw new Error('--runs must be > 0');

/** 6 s of noise-like "speech" then 0.3 s of quiet: the audio does not change the cost, only its length. */
function utterance(): Float32Array {
  const random = seededRandom(3);
  const out = new Float32Array(6.3 * 16000);
  for (let i = 0; i < 6 * 16000; i++) out[i] = (random() - 0.5) * 0.4 * Math.abs(Math.sin(i / 800));
  return out;
}

const fmt = (d: Distribution): string => `p50 ${d.p50?.toFixed(2)} ms, p95 ${d.p95?.toFixed(2)} ms, max ${d.max?.toFixed(2)} ms (n=${d.n})`;

const dir = mkdtempSync(join(tmpdir(), 'turn-model-bench-'));
try {
  let file = values.file;
  if (!file) {
    file = join(dir, `${values.model}.onnx`);
    const bytes =
      values.model === 'encoder' || values.model === 'encoder-int8'
        ? whisperTinySizedModelOnnx(4, 1, values.model === 'encoder-int8')
        : tailEnergyModelOnnx({ tailFrames: 40, weight: 6, bias: 0.5 });
    writeFileSync(file, bytes);
    console.log(`model: ${values.model} (${(bytes.length / 1e6).toFixed(1)} MB generated)`);
  } else console.log(`model: ${file}`);
  const audio = utterance();

  const loadStarted = performance.now();
  const inThread = await OnnxTurnModel.load(file);
  console.log(`load (runtime import + session): ${(performance.now() - loadStarted).toFixed(0)} ms`);
  const features: number[] = [];
  const inference: number[] = [];
  await inThread.completeProbability(audio); // warm-up
  for (let i = 0; i < runs; i++) {
    await inThread.completeProbability(audio);
    features.push(inThread.lastCost.featuresMs);
    inference.push(inThread.lastCost.modelMs);
  }
  await inThread.close();
  console.log(`in-thread features (log-mel of 8 s): ${fmt(distribution(features))}`);
  console.log(`in-thread inference:                 ${fmt(distribution(inference))}`);

  const worker = await WorkerTurnModel.start(file, pino({ level: 'warn' }));
  const ring = new PrerollRing(TURN_MODEL_INPUT_SAMPLES);
  ring.write(audio);
  const roundTrip: number[] = [];
  const copy: number[] = [];
  await worker.completeProbability(audio.slice());
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const snapshot = utteranceAudio(ring, 0);
    copy.push(performance.now() - t0);
    await worker.completeProbability(snapshot);
    roundTrip.push(performance.now() - t0);
  }
  await worker.close();
  console.log(`main thread per run (ring copy):     ${fmt(distribution(copy))}`);
  console.log(`worker round trip per run:           ${fmt(distribution(roundTrip))}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
