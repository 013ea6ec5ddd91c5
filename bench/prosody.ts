/**
 * How well the end-of-voice prosody tells a pause inside a turn from the end of a turn, on the audio the server
 * hears. Each phrase is spoken twice by the caller's espeak-ng voice, once ending in a comma (continuation
 * intonation: the speaker holds the floor) and once in a full stop (a finished statement), then put on the line as
 * the bench callers' audio is (G.711 mu-law 8 kHz, -50 dBFS line noise), resampled to 16 kHz and run through the
 * real Silero VAD; the ProsodyTracker is fed what the VAD counts as speech, as CallSpeech feeds it, and read once
 * the VAD reports the end.
 *
 *   node --import tsx bench/prosody.ts [--lang zh,en] [--feed start|confirmed] [--phrases sentences|syllables] [--verbose]
 *
 * `--feed confirmed` gives the tracker only the frames from the VAD's confirmation on (~250 ms into the voice), as
 * CallSpeech did before it fed the audio from the VAD's start; `start` (the default) is what it does now.
 * Prints, per language and ending, how the tracker classified the end. The endpointer shortens the wait after a
 * `falling` end and lengthens it after `level` or `rising`, so `falling` on a comma piece is what risks a cut-off.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { synthesizeCallerTurns } from '../src/cli/caller-voice.ts';
import { createCodec, createResampler } from '../src/media/index.ts';
import { LineNoise } from '../src/pbx/simulator/line-noise.ts';
import { ProsodyTracker, type ProsodyEnd } from '../src/speech/index.ts';
import { CallVad } from '../src/speech/vad.ts';
import { VadPool } from '../src/speech/vad-pool.ts';
import { trimToVoice } from './lib/realistic.ts';
import type { Lang } from './lib/script.ts';

const PHRASES: Readonly<Record<Lang, readonly string[]>> = {
  zh: [
    '是的', '嗯', '那个', '我想想', '就是', '对', '好的', '我觉得', '然后', '下周吧', '没有了', '可以', '我知道了', '这个',
    '我看一下', '等一下', '不需要', '我现在在上班', '我的意思是', '你们那个服务', '每个月多少钱', '我下个月',
    '明天下午', '我考虑一下', '身份证', '还有', '我之前用过', '还款日', '三千五', '我不太清楚',
  ],
  en: [
    'yes', 'um', 'uh', 'let me see', 'and', 'well', 'okay', 'I think', 'so', 'next week', 'no thank you', 'sure',
    'I mean', 'the thing is', 'actually', 'I am at work right now', 'how much is it', 'my account', 'tomorrow afternoon',
    'let me think about it', 'the card number', 'because', 'I used one before', 'three thousand', 'I am not sure',
    'right', 'on Monday', 'I guess', 'that is fine', 'wait a second', 'please repeat', 'no thanks', 'yes please',
    'who is this', 'call me later',
  ],
};

/**
 * `--phrases syllables`: one-syllable answers said alone, where a Chinese character's own tone sets the contour (the
 * end of turn's `toneMismatch` expects the fourth tone to fall).
 */
const SYLLABLES: Readonly<Record<Lang, readonly string[]>> = {
  zh: ['是', '对', '不', '要', '会', '在', '错', '好', '行', '没', '嗯', '恩'],
  en: ['yes', 'no', 'sure', 'right', 'okay'],
};

/** The VAD model shipped in the repo (models/), wherever the bench is started from. */
const SILERO = fileURLToPath(new URL('../models/silero-vad/silero_vad_v5.onnx', import.meta.url));
const RATE = 8000;
const FRAME = 160;
/** Silence after each piece: longer than the VAD's end detection. */
const TAIL_MS = 600;

interface Outcome {
  lang: Lang;
  phrase: string;
  ending: 'comma' | 'stop';
  end: ProsodyEnd;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lang: { type: 'string', default: 'zh,en' },
      feed: { type: 'string', default: 'start' },
      phrases: { type: 'string', default: 'sentences' },
      verbose: { type: 'boolean', default: false },
    },
  });
  if (values.phrases !== 'sentences' && values.phrases !== 'syllables') throw new Error(`--phrases takes sentences or syllables, not ${values.phrases}`);
  const phrases = values.phrases === 'syllables' ? SYLLABLES : PHRASES;
  const langs = values.lang.split(',') as Lang[];
  if (values.feed !== 'start' && values.feed !== 'confirmed') throw new Error(`--feed takes start or confirmed, not ${values.feed}`);
  const fromStart = values.feed === 'start';
  const log = pino({ level: 'warn' });
  const pool = new VadPool({ model: SILERO, threshold: 0.3, minSpeechMs: 200, minSilenceMs: 100, warm: 1, maxIdle: 1, log });
  const outcomes: Outcome[] = [];
  for (const lang of langs) {
    const script = phrases[lang].flatMap((p) => [`${p}${lang === 'zh' ? '，' : ','}`, `${p}${lang === 'zh' ? '。' : '.'}`]);
    const voices = await synthesizeCallerTurns(script.map((text) => ({ text, mode: 'afterPrompt' as const })), lang, RATE);
    voices.forEach((v, i) => {
      const end = classifyOnLine(trimToVoice(v.pcm), pool, fromStart);
      outcomes.push({ lang, phrase: phrases[lang][i >> 1]!, ending: i % 2 === 0 ? 'comma' : 'stop', end });
    });
  }
  pool.close();
  if (values.verbose) for (const o of outcomes) console.log(`${o.lang} ${o.ending.padEnd(5)} ${o.end.padEnd(7)} ${o.phrase}`);
  console.log('| language | ending | pieces | falling | level | rising | unknown |');
  console.log('|---|---|---|---|---|---|---|');
  for (const lang of langs) {
    for (const ending of ['comma', 'stop'] as const) {
      const part = outcomes.filter((o) => o.lang === lang && o.ending === ending);
      const count = (e: ProsodyEnd): number => part.filter((o) => o.end === e).length;
      console.log(`| ${lang} | ${ending === 'comma' ? 'comma (goes on)' : 'full stop (done)'} | ${part.length} | ${count('falling')} | ${count('level')} | ${count('rising')} | ${count('unknown')} |`);
    }
  }
}

/** The piece on the line, through the VAD, as CallSpeech hears it; the tracker's verdict once the VAD says it ended. */
function classifyOnLine(pcm: Int16Array, pool: VadPool, fromStart: boolean): ProsodyEnd {
  const codec = createCodec('pcmu');
  const noise = new LineNoise(-50, FRAME);
  const resampler = createResampler(RATE, 16000);
  const vad = new CallVad(pool, 0, 0, null);
  const tracker = new ProsodyTracker();
  const line = new Int16Array(pcm.length + (TAIL_MS * RATE) / 1000 + FRAME);
  line.set(pcm, (200 * RATE) / 1000);
  const frame = new Int16Array(FRAME);
  const float = new Float32Array(FRAME * 2);
  const heardLine = new Float32Array(line.length * 2);
  let verdict: ProsodyEnd = 'unknown';
  let inSpeech = false;
  for (let at = 0; at + FRAME <= line.length; at += FRAME) {
    frame.set(line.subarray(at, at + FRAME));
    const heard = codec.decode(codec.encode(noise.mix(frame)));
    const up = resampler.process(heard);
    for (let i = 0; i < up.length; i++) float[i] = up[i]! / 32768;
    const samples = float.subarray(0, up.length);
    heardLine.set(samples, at * 2);
    const edge = vad.accept(samples);
    if (edge?.kind === 'start' && !inSpeech) {
      // As CallSpeech does: the voice from where the VAD places its start, which it confirms only later.
      inSpeech = true;
      tracker.reset();
      tracker.push(fromStart ? heardLine.subarray(Math.round(edge.atMs * 16), at * 2 + samples.length) : samples);
    } else if (inSpeech && vad.speaking) tracker.push(samples);
    if (edge?.kind === 'end') verdict = tracker.end();
  }
  vad.close();
  return verdict;
}

await main();
