import { soundsLikeAt } from '../core/index.ts';

/**
 * Where a phrase is in an utterance, as a fraction of the utterance's length (0 = its start), or -1. The caller
 * turns the fraction into a time inside the utterance's audio, so the console plays the words themselves.
 */
export type PhraseFinder = (text: string) => number;

const LATIN = /[a-z]/i;
const NOT_WORD = /[^\p{L}\p{N}]+/gu;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Characters that count for matching (letters and digits, lower-cased, full-width folded) and their positions. */
function significant(text: string): { chars: string[]; at: number[] } {
  const chars: string[] = [];
  const at: number[] = [];
  let i = 0;
  for (const ch of text.normalize('NFKC').toLowerCase()) {
    if (/[\p{L}\p{N}]/u.test(ch)) {
      chars.push(ch);
      at.push(i);
    }
    i += ch.length;
  }
  return { chars, at };
}

/**
 * A literal phrase, case-insensitive. English phrases match whole words ("no" is not in "know"); Chinese ones
 * ignore spaces and punctuation (ASR output spaces and punctuates Chinese unpredictably).
 */
export function keywordFinder(phrase: string): PhraseFinder {
  const normalized = phrase.normalize('NFKC').toLowerCase().trim();
  if (LATIN.test(normalized) && !/\p{Script=Han}/u.test(normalized)) {
    const words = normalized.split(NOT_WORD).filter(Boolean).map(escapeRegExp);
    const re = new RegExp(`(?<![\\p{L}\\p{N}])${words.join('[^\\p{L}\\p{N}]+')}(?![\\p{L}\\p{N}])`, 'iu');
    return (text) => {
      const m = re.exec(text.normalize('NFKC'));
      return m ? m.index / Math.max(1, text.length) : -1;
    };
  }
  const needle = significant(normalized).chars.join('');
  return (text) => {
    const { chars, at } = significant(text);
    const idx = chars.join('').indexOf(needle);
    if (idx < 0 || needle.length === 0) return -1;
    // chars are single code points for Han and Latin alike; surrogate pairs are rare enough to ignore here.
    return (at[idx] ?? 0) / Math.max(1, text.length);
  };
}

/** Sounds like the phrase (同音/近音字, as telephone ASR mishears Chinese); for English, the literal phrase. */
export function pinyinFinder(phrase: string): PhraseFinder {
  const literal = keywordFinder(phrase);
  const target = significant(phrase).chars;
  if (!/\p{Script=Han}/u.test(phrase)) return literal;
  return (text) => {
    const exact = literal(text);
    if (exact >= 0) return exact;
    const { chars, at } = significant(text);
    for (let i = 0; i + target.length <= chars.length; i++) {
      if (soundsLikeAt(chars, i, target)) return (at[i] ?? 0) / Math.max(1, text.length);
    }
    return -1;
  };
}

export function regexFinder(pattern: string, flags: string): PhraseFinder {
  const re = new RegExp(pattern, flags.includes('u') ? flags : `${flags}u`);
  return (text) => {
    const m = re.exec(text.normalize('NFKC'));
    return m ? m.index / Math.max(1, text.length) : -1;
  };
}

/** The first of several finders that matches: which phrase, and where. */
export function anyOf(phrases: readonly string[], make: (p: string) => PhraseFinder): (text: string) => { phrase: string; at: number } | undefined {
  const finders = phrases.map((p) => ({ phrase: p, find: make(p) }));
  return (text) => {
    for (const f of finders) {
      const at = f.find(text);
      if (at >= 0) return { phrase: f.phrase, at };
    }
    return undefined;
  };
}
