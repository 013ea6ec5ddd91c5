import type { PromptLevelOptions } from './prompt-level.ts';
import type { Logger } from 'pino';
import type { Lang } from '../../core/index.ts';

/** A streaming sample-rate converter, as `createResampler(inRate, outRate)` in media builds it. */
export interface StreamResampler {
  /** Converts the next block; the result may be a buffer the resampler reuses, so copy it to keep it. */
  process(input: Int16Array): Int16Array;
  /** Forget filter state so the next block starts a new signal. */
  reset(): void;
  /** Output samples of filter delay; the speaker drops them, since they only postpone the first audio. */
  readonly delaySamples?: number;
}

export type ResamplerFactory = (inRate: number, outRate: number) => StreamResampler;

export interface SpeakerOptions {
  /** Seconds each uncached sentence took to synthesize (the TTS stage timing metric). */
  onSynthesized?: (seconds: number) => void;
  /** Max sentences kept synthesized (already resampled); 0 disables the cache. */
  cacheSize: number;
  log?: Logger;
  resample: ResamplerFactory;
  /** Silence inserted between sentences that end with 。！？; etc. Default 200 ms. */
  sentencePauseMs?: number;
  /** Silence inserted between clauses split at a comma. Default 100 ms. */
  clausePauseMs?: number;
  /** Level every sentence is brought to (default DEFAULT_PROMPT_LEVEL: -20 dBFS active speech, peak -3 dBFS); false keeps the engine's. */
  level?: PromptLevelOptions | false;
}

export interface EspeakTtsOptions {
  /** espeak-ng voice per language, e.g. { zh: 'cmn', en: 'en-us' }. */
  voices: Record<Lang, string>;
  /** Words per minute. */
  rate: number;
  log?: Logger;
}

/** What one sentence cost to synthesize, for logs and measurements. */
export interface SynthesisTiming {
  /** Wall time from request to audio back on the caller's thread. */
  totalMs: number;
  /** Time the synthesizer itself ran (blocking whichever thread it runs on). */
  computeMs: number;
  audioMs: number;
}

export type SherpaTtsKind = 'vits' | 'matcha' | 'kokoro';

/** Files of one sherpa-onnx offline TTS model, already resolved to absolute paths. */
export interface SherpaTtsModelFiles {
  kind: SherpaTtsKind;
  /** vits and kokoro: the single acoustic+vocoder model. */
  model?: string;
  /** matcha: the acoustic model and the separate vocoder. */
  acousticModel?: string;
  vocoder?: string;
  tokens: string;
  lexicon?: string;
  /** espeak-ng-data folder for models that phonemize with espeak (piper vits, kokoro, English matcha). */
  dataDir?: string;
  /** jieba dict folder of older Chinese vits models (ignored by sherpa-onnx >= 1.12, kept for older builds). */
  dictDir?: string;
  /** kokoro: voices.bin. */
  voices?: string;
  /** Text normalization rules (numbers, dates, phone numbers) applied before synthesis. */
  ruleFsts?: string[];
  ruleFars?: string[];
  /** kokoro multi-lingual models: espeak language of the English part. */
  lang?: string;
}

export interface SherpaTtsOptions {
  model: SherpaTtsModelFiles;
  /** Speaker id for multi-speaker models; `speakers` overrides it per language. */
  speakerId?: number;
  speakers?: Partial<Record<Lang, number>>;
  /** 1.0 = the model's natural pace; sherpa divides lengthScale by it. */
  speed?: number;
  numThreads?: number;
  /** Sentences sherpa synthesizes per batch inside one generate call. */
  maxNumSentences?: number;
  /** Scales the silence sherpa puts at punctuation. */
  silenceScale?: number;
  log?: Logger;
}
