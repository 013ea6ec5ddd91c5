import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { trimToVoice } from '../../bench/lib/realistic.ts';
import { synthesizeCallerTurns } from '../../src/cli/caller-voice.ts';
import { createCodec } from '../../src/media/index.ts';
import { LineNoise } from '../../src/pbx/simulator/line-noise.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { createSpeechEngine } from '../../src/speech/speech-engine.ts';
import type { FinalTranscript, SpeechEngine } from '../../src/speech/types.ts';
import { SHARED_MODELS } from './speech-fixtures.ts';
import { testLog } from '../support/run-log.ts';
import { until } from '../support/wait.ts';

/**
 * Issue 12, prosody on the real listening path: the caller's espeak-ng voice says "yes," (continuation intonation:
 * the voice rises) or "yes." (a statement: it falls) to a yes/no step, over G.711 mu-law with line noise. Only the
 * end of the voice differs. The VAD confirms speech ~200 ms after it begins, so the tracker must be given the audio
 * from the VAD's start (without it, "yes," left it one syllable's end and read as falling), and the silence the VAD
 * still calls speech after the voice must not read as a fade.
 */
let engine: SpeechEngine;
const FLOOR_MS = 500;

test.before(async () => {
  // A floor of 500 ms leaves the recognizer time to spell "yes" (it needs audio past the word) before any wait can
  // run out, without timing the test against it: the audio is pushed faster than real time.
  const cfg = speechConfigSchema.parse({ vad: { poolSize: 1 }, asr: { decodeIntervalMs: 10 }, endpoint: { floorMs: FLOOR_MS } });
  engine = await createSpeechEngine(cfg, { log: testLog(), modelsRoot: SHARED_MODELS });
});

test.after(async () => {
  await engine.close();
});

async function answer(text: string, phrase: string, leadFrames: number): Promise<FinalTranscript> {
  const [turn] = await synthesizeCallerTurns([{ text, mode: 'afterPrompt' }], 'en', 8000);
  const voice = trimToVoice(turn!.pcm);
  const call = engine.createCall(`prosody-${text}-${leadFrames}`, 8000, 'en');
  call.setExpected([phrase]);
  call.setTurnContext?.({ expects: 'yesNo', phrases: [phrase] });
  const finals: FinalTranscript[] = [];
  let heard = false;
  call.on('final', (f) => finals.push(f));
  call.on('partial', (p) => (heard ||= p.text.includes(phrase)));
  const codec = createCodec('pcmu');
  const noise = new LineNoise(-50, 160);
  const frame = new Int16Array(160);
  const pushFrames = (from: Int16Array, frames: number): void => {
    for (let i = 0; i < frames; i++) {
      frame.fill(0);
      const at = i * 160;
      if (at < from.length) frame.set(from.subarray(at, Math.min(from.length, at + 160)));
      call.push(codec.decode(codec.encode(noise.mix(frame))));
    }
  };
  const none = new Int16Array(0);
  pushFrames(none, leadFrames);
  pushFrames(voice, Math.ceil(voice.length / 160));
  // Under the floor: no wait has run out before the transcript comes, as on a line in real time.
  pushFrames(none, FLOOR_MS / 20 - 5);
  await until(() => heard, `a partial with "${phrase}"`);
  for (let i = 0; i < 100 && finals.length === 0; i++) pushFrames(none, 1);
  await until(() => finals.length > 0, 'the final');
  call.close();
  return finals[0]!;
}

test('"yes," said rising waits as a held sentence does; "yes." said falling takes the expected-answer wait', async () => {
  // Three offsets of the voice against the 20 ms frames and the VAD's 32 ms windows: the reading must not hang on one.
  for (const leadFrames of [10, 15, 20]) {
    const going = await answer('yes,', 'yes', leadFrames);
    assert.is(going.text, 'yes');
    assert.equal(going.cues, ['expected', 'continuationRise'], `yes, after ${leadFrames} frames`);
    assert.is(going.waitMs, 950, 'as long as a sentence whose voice ends held');
    assert.is(going.earlyEndpoint, false, 'the rise kept the wait long: not an early end');
    const done = await answer('yes.', 'yes', leadFrames);
    assert.is(done.text, 'yes');
    assert.equal(done.cues, ['expected'], `yes. after ${leadFrames} frames`);
    assert.is(done.waitMs, FLOOR_MS, 'the expected-answer wait, raised to the floor');
    assert.ok(done.earlyEndpoint);
  }
});

test.run();
