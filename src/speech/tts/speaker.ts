import type { Logger } from 'pino';
import type { Lang } from '../../dialog/types.ts';
import type { Speaker, TtsEngine } from '../types.ts';
import { PromptCache } from './prompt-cache.ts';
import { splitSentences, type Sentence } from './sentence-split.ts';
import { trimSilence } from './silence-trim.ts';
import type { SpeakerOptions, StreamResampler } from './types.ts';

type OutputRate = 8000 | 16000;

export class SpeakerError extends Error {
  constructor(message: string, readonly sentence: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpeakerError';
  }
}

class SentenceSpeaker implements Speaker {
  private readonly cache: PromptCache<Int16Array>;
  /** Sentences being synthesized now: a second request for the same one waits for the first instead of redoing it. */
  private readonly inFlight = new Map<string, Promise<Int16Array>>();
  private readonly resamplers = new Map<number, StreamResampler>();
  private readonly log: Logger | undefined;
  private readonly sentencePauseMs: number;
  private readonly clausePauseMs: number;

  constructor(
    private readonly engine: TtsEngine,
    private readonly options: SpeakerOptions,
  ) {
    this.cache = new PromptCache(options.cacheSize);
    this.log = options.log?.child({ component: 'speaker', engine: engine.name });
    this.sentencePauseMs = options.sentencePauseMs ?? 200;
    this.clausePauseMs = options.clausePauseMs ?? 100;
  }

  async *speak(text: string, lang: Lang, rate: OutputRate): AsyncGenerator<Int16Array> {
    const sentences = splitSentences(text, lang);
    if (sentences.length === 0) return;
    let next = this.sentenceAudio(sentences[0], lang, rate);
    for (let i = 0; i < sentences.length; i++) {
      const current = next;
      if (i + 1 < sentences.length) {
        // Synthesize the next sentence while this one plays; if the caller barges in and the loop is abandoned,
        // its result still lands in the cache and a failure must not surface as an unhandled rejection.
        next = this.sentenceAudio(sentences[i + 1], lang, rate);
        next.catch(() => undefined);
      }
      yield await current;
      const pauseMs = this.pauseAfter(sentences[i]);
      if (pauseMs > 0) yield new Int16Array((rate * pauseMs) / 1000);
    }
  }

  async warm(text: string, lang: Lang, rate: OutputRate): Promise<void> {
    if (this.options.cacheSize <= 0) {
      this.log?.warn('warm() with cacheSize 0: nothing is kept');
      return;
    }
    await Promise.all(splitSentences(text, lang).map((sentence) => this.sentenceAudio(sentence, lang, rate)));
  }

  private pauseAfter(sentence: Sentence): number {
    if (sentence.breakAfter === 'sentence') return this.sentencePauseMs;
    if (sentence.breakAfter === 'clause') return this.clausePauseMs;
    return 0;
  }

  private sentenceAudio(sentence: Sentence, lang: Lang, rate: OutputRate): Promise<Int16Array> {
    const key = `${this.engine.name}\u0000${lang}\u0000${rate}\u0000${sentence.text}`;
    const cached = this.cache.get(key);
    if (cached) return Promise.resolve(cached);
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = performance.now();
    const promise = this.engine
      .synthesize(sentence.text, lang)
      .then((native) => {
        const pcm = this.toOutputRate(trimSilence(native, this.engine.sampleRate), rate);
        this.cache.set(key, pcm);
        this.log?.debug({ chars: sentence.text.length, ms: Math.round(performance.now() - started), audioMs: Math.round((pcm.length * 1000) / rate) }, 'sentence synthesized');
        return pcm;
      })
      .catch((err: unknown) => {
        throw new SpeakerError(`TTS failed for "${sentence.text}" (${this.engine.name}, ${lang}): ${err instanceof Error ? err.message : String(err)}`, sentence.text, { cause: err });
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  private toOutputRate(pcm: Int16Array, rate: OutputRate): Int16Array {
    if (rate === this.engine.sampleRate || pcm.length === 0) return pcm;
    let resampler = this.resamplers.get(rate);
    if (!resampler) {
      resampler = this.options.resample(this.engine.sampleRate, rate);
      this.resamplers.set(rate, resampler);
    }
    // One resampler per rate serves every sentence: process() is synchronous, so reset() isolates each clip.
    // The clip ends in zeros (trimSilence pads it), which pushes the filter's delayed tail out.
    resampler.reset();
    const converted = resampler.process(pcm);
    const out = converted.slice(Math.min(converted.length, resampler.delaySamples ?? 0));
    resampler.reset();
    return out;
  }
}

/**
 * Speaks text sentence by sentence at the call's rate: the first sentence's audio is yielded as soon as it is
 * synthesized while the next is under way; sentences are trimmed of leading/trailing silence and cached (LRU).
 * Yielded arrays may be shared with the cache and other calls: treat them as read-only.
 */
export function createSpeaker(engine: TtsEngine, options: SpeakerOptions): Speaker {
  return new SentenceSpeaker(engine, options);
}
