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

/** Speaks the caller's lines with the embedded espeak-ng (another voice than the bot's), as PCM16 at `rate`. */
export async function synthesizeCallerTurns(script: ScriptedTurn[], lang: Lang, rate: 8000 | 16000): Promise<CallerTurn[]> {
  const engine: TtsEngine = await EspeakTtsEngine.create({ voices: { zh: 'cmn', en: 'en-us' }, rate: 160 });
  try {
    const speaker = createSpeaker(engine, { cacheSize: 0, resample: createResampler });
    const turns: CallerTurn[] = [];
    for (const line of script) {
      const chunks: Int16Array[] = [];
      for await (const chunk of speaker.speak(line.text, lang, rate)) chunks.push(chunk);
      const pcm = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        pcm.set(c, at);
        at += c.length;
      }
      turns.push({ pcm, text: line.text, mode: line.mode, pauseMs: line.pauseMs, bargeInAfterMs: line.bargeInAfterMs });
    }
    return turns;
  } finally {
    await engine.close();
  }
}
