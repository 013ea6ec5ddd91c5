import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Lang } from '../../core/index.ts';
import type { Speaker, TtsEngine } from '../types.ts';
import { PromptCache } from './prompt-cache.ts';
import { normalizePromptLevel } from './prompt-level.ts';
import { splitSentences, type Sentence } from './sentence-split.ts';
import { trimSilence } from './silence-trim.ts';
import type { SpeakerOptions, StreamResampler } from './types.ts';

type OutputRate = 8000 | 16000;

/** Input per resampling step: about 0.4 ms of work each at 22050 -> 8000. */
const RESAMPLE_BLOCK_MS = 250;
const MAX_IDLE_RESAMPLERS = 8;

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
  private readonly idleResamplers = new Map<number, StreamResampler[]>();
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
      .then(async (native) => {
        this.options.onSynthesized?.((performance.now() - started) / 1000);
        const resampled = await this.toOutputRate(trimSilence(native, this.engine.sampleRate), rate);
        // Leveled at the output rate, after resampling, whose filter can add a little overshoot to the peaks.
        const pcm = this.options.level === false ? resampled : normalizePromptLevel(resampled, rate, this.options.level);
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

  /**
   * Resamples in blocks, letting the event loop run between them: a whole sentence in one go blocks for several ms
   * (about 6 ms for 3.5 s of speech at 22050 -> 8000), which would delay other calls' 20 ms frames.
   */
  private async toOutputRate(pcm: Int16Array, rate: OutputRate): Promise<Int16Array> {
    const inRate = this.engine.sampleRate;
    if (rate === inRate || pcm.length === 0) return pcm;
    const resampler = this.acquireResampler(rate);
    try {
      resampler.reset();
      const blockSamples = Math.round((inRate * RESAMPLE_BLOCK_MS) / 1000);
      const pieces: Int16Array[] = [];
      let total = 0;
      for (let at = 0; at < pcm.length; at += blockSamples) {
        if (at > 0) await yieldToEventLoop();
        // The result is a view the resampler reuses: copy before the next block.
        const piece = resampler.process(pcm.subarray(at, Math.min(pcm.length, at + blockSamples))).slice();
        pieces.push(piece);
        total += piece.length;
      }
      // The clip ends in zeros (trimSilence pads it), which pushes the delayed tail out; the delay itself is
      // dropped from the front, since it would only postpone the first audio.
      const skip = Math.min(total, resampler.delaySamples ?? 0);
      const out = new Int16Array(total - skip);
      let written = -skip;
      for (const piece of pieces) {
        if (written >= 0) out.set(piece, written);
        else if (written + piece.length > 0) out.set(piece.subarray(-written), 0);
        written += piece.length;
      }
      return out;
    } finally {
      this.releaseResampler(rate, resampler);
    }
  }

  /** Each sentence being resampled needs its own filter state; building one designs a filter (~1 ms), so keep them. */
  private acquireResampler(rate: OutputRate): StreamResampler {
    const idle = this.idleResamplers.get(rate);
    return idle?.pop() ?? this.options.resample(this.engine.sampleRate, rate);
  }

  private releaseResampler(rate: OutputRate, resampler: StreamResampler): void {
    let idle = this.idleResamplers.get(rate);
    if (!idle) {
      idle = [];
      this.idleResamplers.set(rate, idle);
    }
    if (idle.length < MAX_IDLE_RESAMPLERS) idle.push(resampler);
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
