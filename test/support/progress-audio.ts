/**
 * Generated line audio for call-progress and AMD tests and the AMD benchmark: carrier announcements and greetings
 * spoken by espeak-ng (the project's own TTS), China's 450 Hz progress tones, voicemail beeps. 8 kHz PCM16,
 * the rate of a G.711 line.
 */
import { createResampler } from '../../src/media/index.ts';
import { EspeakTtsEngine } from '../../src/speech/tts/index.ts';
import type { Lang } from '../../src/core/index.ts';
import { testLog } from './run-log.ts';

export const LINE_RATE = 8000;

export function tone(freqHz: number, ms: number, amplitude = 0.3, rate = LINE_RATE): Int16Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(Math.sin((2 * Math.PI * freqHz * i) / rate) * amplitude * 32767);
  return out;
}

export function silence(ms: number, rate = LINE_RATE): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A cadenced tone: `onMs` of `freqHz`, `offMs` silence, repeated to `totalMs`. */
export function cadence(freqHz: number, onMs: number, offMs: number, totalMs: number): Int16Array {
  const parts: Int16Array[] = [];
  for (let at = 0; at < totalMs; at += onMs + offMs) {
    parts.push(tone(freqHz, Math.min(onMs, totalMs - at)));
    if (at + onMs < totalMs) parts.push(silence(Math.min(offMs, totalMs - at - onMs)));
  }
  return concat(parts);
}

/** China's call-progress tones (YD/T 1277): all 450 Hz, told apart by cadence. */
export const chinaRingback = (totalMs: number): Int16Array => cadence(450, 1000, 4000, totalMs);
export const chinaBusy = (totalMs: number): Int16Array => cadence(450, 350, 350, totalMs);
export const chinaCongestion = (totalMs: number): Int16Array => cadence(450, 700, 700, totalMs);

/** Some colour ringback (彩铃): a few notes with harmonics, nothing like a single tone. */
export function colourRingback(ms: number): Int16Array {
  const n = Math.round((ms * LINE_RATE) / 1000);
  const out = new Int16Array(n);
  const notes = [262, 330, 392, 523, 392, 330];
  for (let i = 0; i < n; i++) {
    const f = notes[Math.floor(i / 2400) % notes.length]!;
    const t = i / LINE_RATE;
    const v = 0.15 * Math.sin(2 * Math.PI * f * t) + 0.1 * Math.sin(4 * Math.PI * f * t) + 0.07 * Math.sin(6 * Math.PI * f * t + 1) + 0.05 * Math.sin(2 * Math.PI * (f * 1.5) * t);
    out[i] = Math.round(v * 32767);
  }
  return out;
}

/** Speech through espeak-ng at 8 kHz; one engine per process, made on first use. */
export class LineVoice {
  private engine: EspeakTtsEngine | undefined;
  private readonly cache = new Map<string, Int16Array>();

  async say(text: string, lang: Lang = 'zh'): Promise<Int16Array> {
    const key = `${lang}:${text}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    this.engine ??= await EspeakTtsEngine.create({ voices: { zh: 'cmn', en: 'en-us' }, rate: 165, log: testLog() });
    const raw = await this.engine.synthesize(text, lang);
    const pcm = createResampler(this.engine.sampleRate, LINE_RATE).process(raw).slice();
    this.cache.set(key, pcm);
    return pcm;
  }

  async close(): Promise<void> {
    await this.engine?.close();
    this.engine = undefined;
  }
}

/** Splits audio into 20 ms frames (the last one zero-padded). */
export function* frames(pcm: Int16Array, rate = LINE_RATE): Generator<Int16Array> {
  const size = rate / 50;
  for (let at = 0; at < pcm.length; at += size) {
    const frame = new Int16Array(size);
    frame.set(pcm.subarray(at, Math.min(at + size, pcm.length)));
    yield frame;
  }
}

/** The carrier announcements of Chinese networks, as the fixtures' espeak recordings say them. */
export const ANNOUNCEMENTS = {
  invalid_number: '您拨打的号码是空号，请查证后再拨',
  powered_off: '您拨打的电话已关机',
  suspended: '您拨打的电话已停机',
  busy: '您拨打的电话正在通话中，请稍后再拨',
  unreachable: '您拨打的电话暂时无法接通，请稍后再拨',
  out_of_service_area: '您拨打的用户不在服务区',
} as const;

export const GREETINGS = {
  humanWei: '喂',
  humanNinhao: '您好',
  humanWeiNihao: '喂，你好',
  voicemailZh: '您好，您拨打的用户无法接听您的电话，请在提示音后留言，谢谢',
  voicemailEn: 'Hi, you have reached John. I am not available right now, please leave a message after the tone.',
  assistantZh: '您好，我是机主的智能助理，机主现在不方便接听，请问您有什么事',
  assistantEn: 'Hi, this is the call screening assistant. Please state your name and the reason for your call.',
} as const;
