/**
 * When the turn of an expected answer ends, after the caller's voice does. Each phrase is spoken by the caller's
 * espeak-ng voice, trimmed to its voice, put between a second of lead-in and two seconds of low line noise, and pushed
 * in real time (20 ms frames, paced by the wall clock) through the speech engine with the phrase set as the step's
 * expected answer: the real Silero VAD, streaming ASR (tiny model, in its worker) and endpointer. Prints, per phrase,
 * when the VAD reported the end and when the endpoint was decided, both in ms after the voice ended, with the wait and
 * cues the end of turn chose.
 *
 *   node --import tsx bench/expected-endpoint.ts [--rounds N]
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { speakLines } from '../src/cli/caller-voice.ts';
import { createSpeechEngine, speechConfigSchema } from '../src/speech/index.ts';
import { trimToVoice } from './lib/realistic.ts';
import type { Lang } from './lib/script.ts';

/** A phrase the step expects, and the step's other answers. */
const CASES: ReadonlyArray<{ lang: Lang; text: string; others: readonly string[] }> = [
  { lang: 'zh', text: '再说一遍', others: ['是的', '不需要'] },
  { lang: 'zh', text: '是的', others: ['不需要'] },
  { lang: 'zh', text: '不需要', others: ['是的'] },
  { lang: 'en', text: 'please repeat', others: ['yes', 'no'] },
  { lang: 'en', text: 'yes', others: ['no'] },
];
const RATE = 8000;
const FRAME = RATE / 50;
const LEAD_MS = 1000;
const TAIL_MS = 2000;
/** About -66 dBFS of line noise, so the line has a floor. */
const NOISE_AMPLITUDE = 20;

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1' } } });
const rounds = Math.max(1, Number(values.rounds));

const engine = await createSpeechEngine(speechConfigSchema.parse({ vad: { poolSize: 1 } }), { log: pino({ level: 'warn' }) });
try {
  console.log('phrase | VAD end reported (ms after the voice) | endpoint decided | wait | cues');
  for (let round = 0; round < rounds; round++) {
    for (const c of CASES) {
      const [spoken] = await speakLines([c.text], c.lang, RATE, 160);
      const voice = trimToVoice(spoken!);
      const audio = new Int16Array(((LEAD_MS + TAIL_MS) * RATE) / 1000 + voice.length);
      let seed = 7;
      for (let i = 0; i < audio.length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        audio[i] = Math.round((seed / 0x7fffffff - 0.5) * NOISE_AMPLITUDE);
      }
      audio.set(voice, (LEAD_MS * RATE) / 1000);
      const voiceEndMs = LEAD_MS + (voice.length * 1000) / RATE;
      const call = engine.createCall(`endpoint-${round}-${c.text}`, RATE, c.lang);
      call.setExpected([c.text, ...c.others]);
      let vadEndAt: number | undefined;
      let final: { atMs: number; waitMs?: number; cues?: readonly string[] } | undefined;
      call.on('speechEnd', () => (vadEndAt ??= call.nowMs));
      call.on('final', (e) => (final ??= e));
      const frame = new Int16Array(FRAME);
      const started = performance.now();
      for (let f = 0; (f + 1) * FRAME <= audio.length; f++) {
        frame.set(audio.subarray(f * FRAME, (f + 1) * FRAME));
        call.push(frame);
        const ahead = started + (f + 1) * 20 - performance.now();
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
      await new Promise((r) => setTimeout(r, 300));
      call.close();
      const ms = (at: number | undefined): string => (at === undefined ? '-' : String(Math.round(at - voiceEndMs)));
      console.log(`${c.text} | ${ms(vadEndAt)} | ${ms(final?.atMs)} | ${final?.waitMs ?? '-'} | ${final?.cues?.join(',') ?? '-'}`);
    }
  }
} finally {
  await engine.close();
}
