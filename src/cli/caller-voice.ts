import type { CallerTurn } from '../pbx/index.ts';
import { createResampler } from '../media/index.ts';
import { EspeakTtsEngine, createSpeaker, type TtsEngine } from '../speech/index.ts';
import type { Lang } from '../dialog/index.ts';

export interface ScriptedTurn {
  text: string;
  mode: CallerTurn['mode'];
  pauseMs?: number;
  bargeInAfterMs?: number;
}

/**
 * A demo caller for the built-in `demo` flow, in phrases the bundled test ASR model knows: the caller asks who
 * is calling, talks over the bot's answer to say yes, then declines.
 */
export function demoConversation(lang: Lang): ScriptedTurn[] {
  return lang === 'zh'
    ? [
        { text: '请问你是谁', mode: 'afterPrompt', pauseMs: 400 },
        { text: '是的', mode: 'bargeIn', bargeInAfterMs: 1200 },
        { text: '不需要', mode: 'afterPrompt', pauseMs: 400 },
      ]
    : [
        { text: 'who is this', mode: 'afterPrompt', pauseMs: 400 },
        { text: 'yes', mode: 'bargeIn', bargeInAfterMs: 1200 },
        { text: 'not interested', mode: 'afterPrompt', pauseMs: 400 },
      ];
}

/** The caller speaks a little slower than the bot (the server's espeak-ng default is 175). */
const CALLER_WORDS_PER_MINUTE = 160;

/** Speaks the caller's lines with the embedded espeak-ng (another voice than the bot's), as PCM16 at `rate`. */
export async function synthesizeCallerTurns(script: ScriptedTurn[], lang: Lang, rate: 8000 | 16000): Promise<CallerTurn[]> {
  const voices = await speakLines(script.map((line) => line.text), lang, rate, CALLER_WORDS_PER_MINUTE);
  return script.map((line, i) => ({ pcm: voices[i]!, text: line.text, mode: line.mode, pauseMs: line.pauseMs, bargeInAfterMs: line.bargeInAfterMs }));
}

/**
 * Speaks each text with the embedded espeak-ng at `wordsPerMinute`, through the Speaker (its prompt level and
 * sentence pauses), as one PCM16 buffer per text at `rate`.
 */
export async function speakLines(texts: readonly string[], lang: Lang, rate: 8000 | 16000, wordsPerMinute: number): Promise<Int16Array[]> {
  const engine: TtsEngine = await EspeakTtsEngine.create({ voices: { zh: 'cmn', en: 'en-us' }, rate: wordsPerMinute });
  try {
    const speaker = createSpeaker(engine, { cacheSize: 0, resample: createResampler });
    const out: Int16Array[] = [];
    for (const text of texts) {
      const chunks: Int16Array[] = [];
      for await (const chunk of speaker.speak(text, lang, rate)) chunks.push(chunk);
      const pcm = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        pcm.set(c, at);
        at += c.length;
      }
      out.push(pcm);
    }
    return out;
  } finally {
    await engine.close();
  }
}
