import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Lang } from '../../src/core/index.ts';
import { createCodec, createResampler } from '../../src/media/index.ts';
import type { TtsEngine } from '../../src/speech/types.ts';
import { createSpeaker, DEFAULT_PROMPT_LEVEL, EspeakTtsEngine, measureLevel, normalizePromptLevel } from '../../src/speech/tts/index.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();

/** Prompts of the shipped flows, short and long, per language. */
const PROMPTS: Record<Lang, string[]> = {
  zh: ['您好，这里是小智科技。请问您现在方便说话吗？', '好的，不打扰您了，再见。', '您的信用卡账单已逾期三天，请尽快还款。', '好的。'],
  en: ['Hello, this is Callpilot. Is now a good time to talk?', 'No problem, sorry to bother you. Goodbye.', 'Your payment is three days overdue.', 'Great.'],
};

/** A stand-in for engines with other levels: speech-like tone bursts, hot (clipping) or quiet. */
class LevelEngine implements TtsEngine {
  readonly sampleRate = 22050;
  constructor(
    readonly name: string,
    private readonly amplitude: number,
  ) {}
  async synthesize(text: string): Promise<Int16Array> {
    const pcm = new Int16Array(Math.round(0.09 * this.sampleRate) * [...text].length);
    for (let i = 0; i < pcm.length; i++) {
      const t = i / this.sampleRate;
      // 4 syllables a second, two formant-ish partials.
      const envelope = Math.max(0, Math.sin(Math.PI * 4 * t));
      const v = this.amplitude * envelope * (0.7 * Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 1250 * t));
      pcm[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
    }
    return pcm;
  }
  async close(): Promise<void> {}
}

async function speakAll(engine: TtsEngine, text: string, lang: Lang, rate: 8000 | 16000): Promise<Int16Array[]> {
  const speaker = createSpeaker(engine, { cacheSize: 0, resample: createResampler, log });
  const sentences: Int16Array[] = [];
  for await (const chunk of speaker.speak(text, lang, rate)) if (chunk.some((v) => v !== 0)) sentences.push(chunk);
  return sentences;
}

/** PCM16 through a G.711 encoder and decoder, as the line carries it. */
function throughG711(pcm: Int16Array, codec: 'pcmu' | 'pcma'): Int16Array {
  const c = createCodec(codec);
  const out = new Int16Array(pcm.length);
  for (let at = 0; at + 160 <= pcm.length; at += 160) out.set(c.decode(c.encode(pcm.subarray(at, at + 160))), at);
  return out;
}

/** Largest magnitude the codec can produce: a sample there means the signal hit the codec's ceiling. */
const CODEC_MAX = { pcmu: throughG711(new Int16Array(160).fill(32767), 'pcmu')[0]!, pcma: throughG711(new Int16Array(160).fill(32767), 'pcma')[0]! };

const levels: Array<{ engine: string; lang: Lang; text: string; peak: number; rms: number }> = [];

/** `minPeakDbfs`: speech-like material reaches the peak limit; a heavily clipped engine is held by the level instead. */
async function checkEngine(engine: TtsEngine, name: string, minPeakDbfs = -30): Promise<void> {
  for (const lang of ['zh', 'en'] as const) {
    for (const text of PROMPTS[lang]) {
      for (const sentence of await speakAll(engine, text, lang, 8000)) {
        const m = measureLevel(sentence, 80);
        levels.push({ engine: name, lang, text, peak: m.peakDbfs, rms: m.activeRmsDbfs });
        assert.ok(m.peakDbfs <= DEFAULT_PROMPT_LEVEL.peakDbfs + 0.05, `${name} ${lang} "${text}": peak ${m.peakDbfs.toFixed(2)} dBFS`);
        assert.ok(m.peakDbfs >= minPeakDbfs, `${name} ${lang} "${text}": peak ${m.peakDbfs.toFixed(2)} dBFS is far too low`);
        for (const codec of ['pcmu', 'pcma'] as const) {
          const line = throughG711(sentence, codec);
          const ceiling = line.reduce((n, v) => n + (Math.abs(v) >= CODEC_MAX[codec] ? 1 : 0), 0);
          assert.is(ceiling, 0, `${name} ${lang} "${text}": ${ceiling} samples at the ${codec} ceiling`);
        }
      }
    }
  }
}

test('espeak-ng prompts, Mandarin and English: peak at most -3 dBFS, active level -20 dBFS, no G.711 clipping', async () => {
  const engine = await EspeakTtsEngine.create({ voices: { zh: 'cmn', en: 'en-us' }, rate: 175, log });
  try {
    // Unleveled, the Mandarin voice peaks within ~1 dB of full scale (the problem this fixes).
    let rawPeak = -Infinity;
    for (const text of PROMPTS.zh) rawPeak = Math.max(rawPeak, measureLevel(await engine.synthesize(text, 'zh'), 220).peakDbfs);
    assert.ok(rawPeak > -2, `espeak cmn raw peak ${rawPeak.toFixed(2)} dBFS`);
    await checkEngine(engine, 'espeak', -8);
  } finally {
    await engine.close();
  }
});

test('engines at other levels (a clipping one, a quiet one) come out at the same level', async () => {
  await checkEngine(new LevelEngine('hot', 60000), 'hot');
  await checkEngine(new LevelEngine('quiet', 300), 'quiet');
  const rms = levels.map((l) => l.rms);
  const spread = Math.max(...rms) - Math.min(...rms);
  process.stderr.write(
    `  active level over ${levels.length} sentences (espeak zh/en, hot, quiet): ${Math.min(...rms).toFixed(1)} .. ${Math.max(...rms).toFixed(1)} dBFS; ` +
      `peaks ${Math.min(...levels.map((l) => l.peak)).toFixed(1)} .. ${Math.max(...levels.map((l) => l.peak)).toFixed(1)} dBFS\n`,
  );
  // Consistent loudness: within 4 dB of each other, whatever the engine, language or prompt.
  assert.ok(spread <= 4, `active levels spread over ${spread.toFixed(1)} dB: ${JSON.stringify(levels.map((l) => [l.engine, l.lang, l.rms.toFixed(1)]))}`);
  for (const l of levels) assert.ok(l.rms <= DEFAULT_PROMPT_LEVEL.targetRmsDbfs + 0.1, `${l.engine} ${l.lang} "${l.text}" at ${l.rms.toFixed(1)} dBFS`);
});

test('normalizePromptLevel: silence stays silence, a copy is returned, the peak limit wins over the level', () => {
  const silence = new Int16Array(800);
  assert.equal(Array.from(normalizePromptLevel(silence, 8000)), Array.from(silence));
  // A click: very high crest factor, so the level target would drive it far over the peak limit.
  const click = new Int16Array(800);
  click[400] = 1000;
  const out = normalizePromptLevel(click, 8000);
  assert.is(click[400], 1000, 'input untouched');
  const m = measureLevel(out, 80);
  assert.ok(Math.abs(m.peakDbfs - DEFAULT_PROMPT_LEVEL.peakDbfs) < 0.05, `peak ${m.peakDbfs}`);
});

test.run();
