import type { Lang } from '../types.ts';

export type Emotion = 'angry' | 'negative' | 'neutral' | 'positive';

export interface EmotionSignal {
  label: Emotion;
  /** 0..1: how strongly the lexicon and punctuation cues point at the label. */
  score: number;
}

/** Values the NLU pulls out of one utterance. Absent when not heard. */
export interface Slots {
  /** First number heard (digit sequences excluded), e.g. a 1-5 score. */
  number?: number;
  /** A money amount (with a currency word or sign, or a number with 万/千 as a sum). */
  amount?: number;
  /** A calendar date, YYYY-MM-DD in the call's time zone. */
  date?: string;
  /** A clock time, HH:MM (24 h). */
  time?: string;
  /** A run of spoken digits (phone or card numbers, codes): "1385678". */
  digits?: string;
}

export type SlotName = keyof Slots;

/** How one intent is recognised in one language. */
export interface IntentDefinition {
  name: string;
  /** Phrases that count wherever they occur in the utterance. */
  keywords: string[];
  /** Phrases that count only when they make up the whole utterance (short words such as 嗯, 对, yes). */
  exact: string[];
  /** Regular expressions over the normalized utterance. */
  patterns: RegExp[];
  /** When a step does not expect this intent, it counts as that one (not_interested answers yes/no as no). */
  implies?: string;
  /** Intent credited when a keyword of this one is negated ("不需要" when "需要" is a keyword). */
  negation?: string;
  /** The intent also matches when this slot was heard (within the range, for numbers). */
  slot?: { name: SlotName; min?: number; max?: number };
  /** Scales the confidence: generic answers (yes/no) weigh less than specific ones. */
  weight: number;
  /** A short explanation for the LLM fallback. */
  description?: string;
}

export interface IntentScore {
  intent: string;
  confidence: number;
  /** Matched only through sound-alike or one-character-off keywords: maybe not what the caller said. */
  approximate?: boolean;
}

export interface NluResult {
  /** Best candidate intent at or above the threshold; absent means no match. */
  intent?: string;
  confidence: number;
  /** All candidate intents that matched, best first. */
  ranked: IntentScore[];
  slots: Slots;
  emotion: EmotionSignal;
  /** The utterance after normalization (fillers and punctuation removed). */
  normalized: string;
  source: 'rules' | 'llm' | 'none';
}

export interface NluContext {
  lang: Lang;
  /** "Now" for relative dates; taken as input so results are reproducible. */
  now: Date;
  /** IANA time zone for relative dates (default Asia/Shanghai). */
  timeZone: string;
}
