/**
 * Run by native-output.test.ts in a child process, because what it checks is what sherpa-onnx's C++ code writes to
 * the process's own stderr (file descriptor 2, which no in-process hook sees): a call's speech at 8 kHz (the phone
 * rate, which sherpa would resample itself, printing a line per stream) and at 16 kHz, decoded to a final.
 * Prints the finals as one JSON line on stdout.
 */
import { speechConfigSchema } from '../../src/speech/config.ts';
import { createSpeechEngine } from '../../src/speech/speech-engine.ts';
import { concat, readTranscripts, readWavPcm, SHARED_MODELS, silence, upsample2x } from './speech-fixtures.ts';
import { testLog } from '../support/run-log.ts';

const engine = await createSpeechEngine(speechConfigSchema.parse({ vad: { poolSize: 1 } }), { log: testLog(), modelsRoot: SHARED_MODELS });
const row = readTranscripts().find((r) => r.lang === 'zh' && r.text === r.decoded)!;
const utterance = concat([silence(500, 8000), readWavPcm(row.file).pcm, silence(1500, 8000)]);
const finals: string[] = [];
// The ASR worker thread does not keep the process alive by itself; this does until the finals are in.
const alive = setInterval(() => undefined, 1000);
for (const rate of [8000, 16000] as const) {
  const pcm = rate === 8000 ? utterance : upsample2x(utterance);
  const call = engine.createCall(`native-output-${rate}`, rate, 'zh');
  const heard = new Promise<string>((resolve) => call.on('final', (f) => resolve(f.text)));
  const frame = rate / 50;
  for (let at = 0; at + frame <= pcm.length; at += frame) {
    call.push(pcm.subarray(at, at + frame));
    if ((at / frame) % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  finals.push(await heard);
  call.close();
}
clearInterval(alive);
await engine.close();
process.stdout.write(`${JSON.stringify({ expected: row.text, finals })}\n`);
