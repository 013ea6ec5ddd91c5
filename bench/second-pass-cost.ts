/**
 * What the two-pass final (speech.asr.secondPass) costs per turn, against the streaming final: each of the tiny
 * model's 24 held-out test wavs is fed to the ASR decoder in 20 ms chunks (partials decoded as they come), then
 * finalized with the default 400 ms padding; the offline model decodes the same audio with the same padding (in the
 * engine it does so on a thread of its own, beside the streaming final, and the final waits for it). Prints the median
 * time of each decode and how many texts the two agree on. One utterance at a time, so no other call's partials are in
 * the way (the realistic bench measures that).
 *
 *   node --import tsx bench/second-pass-cost.ts --offline DIR [--model callpilot-cost-proxy] [--family zipformerCtc]
 *
 * No offline model can be downloaded here; DIR can hold one derived from the streaming model
 * (test/support/offline-ctc-from-streaming.py, see bench/RESULTS.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createResampler } from '../src/media/index.ts';
import { AsrBatchDecoder } from '../src/speech/asr-batch-decoder.ts';
import { buildRecognizerConfig, buildSecondPassConfig } from '../src/speech/asr-model-config.ts';
import { speechConfigSchema } from '../src/speech/config.ts';
import { resolveModel, sharedModelsDir } from '../src/speech/models/model-lookup.ts';
import { loadSherpa } from '../src/speech/models/sherpa-binding.ts';
import { OfflineUtteranceDecoder } from '../src/speech/second-pass.ts';

const { values } = parseArgs({
  options: { offline: { type: 'string' }, model: { type: 'string', default: 'callpilot-cost-proxy' }, family: { type: 'string', default: 'zipformerCtc' } },
});
if (!values.offline) throw new Error('--offline DIR: the folder of the offline model (model.onnx, tokens.txt)');

const cfg = speechConfigSchema.parse({ asr: { model: values.model, secondPass: { model: values.offline, family: values.family } } });
const streaming = buildRecognizerConfig(cfg.asr, resolveModel(cfg.asr.model));
const secondPass = buildSecondPassConfig(cfg.asr.secondPass, resolveModel(values.offline));
const onePass = new AsrBatchDecoder(streaming);
const offline = new OfflineUtteranceDecoder(secondPass);

// The held-out wavs ship with the tiny model in the shared models folder (the repository's copy has none).
const wavDir = join(sharedModelsDir(), 'callpilot-tiny-zh-en', 'test_wavs');
const files = readFileSync(join(wavDir, 'transcripts.tsv'), 'utf8').trim().split('\n').slice(1).map((row) => row.split('\t')[0]!);

/** A test wav (8 kHz) as the decoder takes it: 16 kHz floats. */
function samples16k(file: string): Float32Array {
  const wave = loadSherpa().readWave(join(wavDir, file));
  const pcm = Int16Array.from(wave.samples, (x) => Math.round(x * 32767));
  const up = createResampler(wave.sampleRate, 16000).process(pcm);
  return Float32Array.from(up, (x) => x / 32768);
}

function finalOf(d: AsrBatchDecoder, audio: Float32Array): { text: string; ms: number } {
  d.open(1);
  for (let off = 0; off < audio.length; off += 320) {
    d.accept(1, audio.subarray(off, off + 320), (off + 320) / 16);
    d.decodeReady([]);
  }
  const started = performance.now();
  const text = d.finalize(1, 400).text;
  return { text, ms: performance.now() - started };
}

const times = { onePass: [] as number[], twoPass: [] as number[] };
let agree = 0;
for (const file of files) {
  const audio = samples16k(file);
  const one = finalOf(onePass, audio);
  const started = performance.now();
  const two = { text: offline.decode(audio, 400), ms: performance.now() - started };
  times.onePass.push(one.ms);
  times.twoPass.push(two.ms);
  if (one.text === two.text) agree++;
}
const median = (xs: number[]): string => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
console.log(`model ${values.model}, second pass ${values.offline} (${values.family}), ${files.length} wavs`);
console.log(`final decode, median ms: one pass ${median(times.onePass)}, two-pass ${median(times.twoPass)}; texts agreeing ${agree}/${files.length}`);
