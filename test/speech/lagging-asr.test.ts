import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallSpeechSession } from '../../src/speech/call-speech.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import type { CallSpeechEvents } from '../../src/speech/types.ts';
import { VadPool } from '../../src/speech/vad-pool.ts';
import { testLog } from '../support/run-log.ts';
import { StandInAsr } from './stand-in-asr.ts';
import { concat, energyBounds, readTranscripts, readWavPcm, silence, VAD_MODEL } from './speech-fixtures.ts';

/*
 * Issue 12, capacity: an ASR that is behind must not keep a caller's turn open. The real VAD and listening side hear
 * a real utterance; the recognizer is a stand-in that answers late, as an overloaded worker does: during the silence
 * after the caller stopped, it reports texts that keep growing (it is still decoding the words spoken before), each
 * stamped with the latest audio it was given. Flagged `behind`, they must not restart the silence; unflagged (a
 * recognizer that keeps up, hearing words the VAD missed), they do, as before.
 */

const FRAME = 160;
const config = speechConfigSchema.parse({});
const row = readTranscripts().find((r) => r.lang === 'zh' && r.text === r.decoded && r.text.length >= 4)!;
const speech = readWavPcm(row.file).pcm;
const EARLY = '我想';
const LATE = '三五七九';

async function run(behind: boolean): Promise<{ final: CallSpeechEvents['final'][0]; speechEndMs: number; lateFromMs: number; shown: number }> {
  const asr = new StandInAsr(() => row.text);
  const vadPool = new VadPool({ model: VAD_MODEL, threshold: config.vad.threshold, minSpeechMs: config.vad.minSpeechMs, minSilenceMs: config.vad.minSilenceMs, warm: 1, maxIdle: 1, log: testLog() });
  const call = new CallSpeechSession({ callId: `late-${behind}`, streamId: 1, sampleRate: 8000, config, vadPool, asr, log: testLog() });
  const finals: CallSpeechEvents['final'][0][] = [];
  call.on('final', (e) => finals.push(e));
  const lead = silence(500, 8000);
  const audio = concat([lead, speech, silence(4000, 8000)]);
  const speechEndMs = 500 + energyBounds(speech, 8000).endMs;
  // From 500 ms after the speech end on (past the ASR's usual lag), one more character every 60 ms: the decoder
  // catching up on old words.
  const lateFromMs = Math.ceil((speechEndMs + 500) / 20) * 20;
  let shown = 0;
  for (let f = 0; (f + 1) * FRAME <= audio.length && finals.length === 0; f++) {
    call.push(audio.subarray(f * FRAME, (f + 1) * FRAME));
    const nowMs = ((f + 1) * FRAME) / 8;
    // While the caller talks the recognizer has decoded "我想" (an unfinished sentence: the end of turn waits long);
    // the rest (digits still being read out: as unfinished) it reports only after the speech end, late.
    if (nowMs === 2000) asr.listener?.(EARLY, asr.lastFedMs, false);
    if (nowMs >= lateFromMs && (nowMs - lateFromMs) % 60 === 0 && shown < LATE.length) {
      shown++;
      asr.listener?.(EARLY + LATE.slice(0, shown), asr.lastFedMs, behind);
    }
    await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < 100 && finals.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  call.close();
  vadPool.close();
  assert.is(finals.length, 1, 'one final');
  return { final: finals[0]!, speechEndMs, lateFromMs, shown };
}

test('partials from a recognizer that is behind do not restart the silence: the turn ends on the VAD end', async () => {
  const { final, speechEndMs, lateFromMs, shown } = await run(true);
  assert.ok(shown >= 2, `the turn was still open when ${shown} late partials came`);
  assert.ok(Math.abs(final.speechEndMs - speechEndMs) < 300, `speech end ${final.speechEndMs} ms, the caller stopped at ${speechEndMs} ms`);
  assert.ok(final.speechEndMs < lateFromMs, 'no late partial moved the end');
});

test('the same partials from a recognizer keeping up are voice the VAD missed: the end moves to them (the check above can fail)', async () => {
  const { final, lateFromMs } = await run(false);
  assert.ok(final.speechEndMs >= lateFromMs, `speech end ${final.speechEndMs} ms, late partials from ${lateFromMs} ms`);
});

test.run();
