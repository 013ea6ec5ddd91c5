import type { Lang } from '../../core/index.ts';

/** How a piece of text ended: a full stop (longer pause) or a clause break (short pause). */
export type SentenceBreak = 'sentence' | 'clause' | 'end';

export interface Sentence {
  text: string;
  /** What follows this piece: decides the pause inserted after it. `end` for the last piece. */
  breakAfter: SentenceBreak;
}

const FULL_WIDTH_STOPS = '。！？；…';
const ASCII_STOPS = '.!?;';
const FULL_WIDTH_CLAUSE = '，、：';
const ASCII_CLAUSE = ',:';
const CLOSERS = '”’」』）)】》"\'';
const ENGLISH_ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'st', 'vs', 'etc', 'no', 'jr', 'sr', 'e.g', 'i.e']);

/**
 * Minimum size of a piece (in CJK characters plus Latin words) before a break may end it. Short pieces are
 * glued to the next so that "好的。" or "Yes," is not synthesized alone: espeak's prosody sounds choppy on
 * fragments and each piece costs a synthesis round trip. Clause breaks need more, since they only exist to
 * get the first audio out sooner on long sentences.
 */
const MIN_UNITS: Record<Lang, { sentence: number; clause: number }> = {
  zh: { sentence: 4, clause: 8 },
  en: { sentence: 3, clause: 10 },
};

function isCjk(code: number): boolean {
  return (code >= 0x4e00 && code <= 0x9fff) || (code >= 0x3400 && code <= 0x4dbf) || (code >= 0xf900 && code <= 0xfaff);
}

/** Speakable size: one unit per CJK character and per run of Latin letters or digits. */
export function speechUnits(text: string): number {
  let units = 0;
  let inWord = false;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (isCjk(code)) {
      units++;
      inWord = false;
    } else if (/[\p{L}\p{N}]/u.test(ch)) {
      if (!inWord) units++;
      inWord = true;
    } else {
      inWord = false;
    }
  }
  return units;
}

/** Whether an ASCII stop at `i` really ends a sentence ("3.5", "Mr. Li", "e.g. this" do not). */
function asciiStopEnds(text: string, i: number): boolean {
  const next = text[i + 1];
  if (next !== undefined && !/\s/.test(next) && !isCjk(next.codePointAt(0)!) && !CLOSERS.includes(next)) return false;
  if (text[i] !== '.') return true;
  const before = text.slice(0, i).match(/([A-Za-z.]+)$/);
  return !(before && ENGLISH_ABBREVIATIONS.has(before[1].toLowerCase()));
}

function asciiClauseEnds(text: string, i: number): boolean {
  const next = text[i + 1];
  // "1,000" and "10:30" are numbers, not clause breaks.
  return !(next !== undefined && /\d/.test(next) && /\d/.test(text[i - 1] ?? ''));
}

/** Cuts text into raw pieces at every break, keeping the punctuation (and closing quotes) with its piece. */
function cutAtBreaks(text: string): Sentence[] {
  const pieces: Sentence[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    let kind: SentenceBreak | undefined;
    if (FULL_WIDTH_STOPS.includes(ch) || (ASCII_STOPS.includes(ch) && asciiStopEnds(text, i))) kind = 'sentence';
    else if (FULL_WIDTH_CLAUSE.includes(ch) || (ASCII_CLAUSE.includes(ch) && asciiClauseEnds(text, i))) kind = 'clause';
    i++;
    if (!kind) continue;
    // Runs like "？！" or "..." and closing quotes belong to the piece they end.
    while (i < text.length && (FULL_WIDTH_STOPS.includes(text[i]) || ASCII_STOPS.includes(text[i]) || CLOSERS.includes(text[i]))) {
      if (FULL_WIDTH_STOPS.includes(text[i]) || ASCII_STOPS.includes(text[i])) kind = 'sentence';
      i++;
    }
    pieces.push({ text: text.slice(start, i), breakAfter: kind });
    start = i;
  }
  if (start < text.length) pieces.push({ text: text.slice(start), breakAfter: 'end' });
  return pieces;
}

/**
 * Splits a prompt into pieces to synthesize one by one, so the first can play while the next is synthesized.
 * Breaks at 。！？；… and . ! ? ; always (once the piece is long enough), at ，、：, : only in long sentences.
 */
export function splitSentences(text: string, lang: Lang): Sentence[] {
  const min = MIN_UNITS[lang];
  const result: Sentence[] = [];
  let pending = '';
  for (const piece of cutAtBreaks(text)) {
    pending += piece.text;
    const units = speechUnits(pending);
    // The unpunctuated tail is decided after the loop, where it can still be glued to the previous piece.
    if (piece.breakAfter === 'end') continue;
    if (units < (piece.breakAfter === 'sentence' ? min.sentence : min.clause)) continue;
    const trimmed = pending.trim();
    if (speechUnits(trimmed) > 0) result.push({ text: trimmed, breakAfter: piece.breakAfter });
    pending = '';
  }
  const rest = pending.trim();
  if (speechUnits(rest) > 0) {
    const last = result[result.length - 1];
    // A short tail ("好吗？") sounds better glued to what precedes it than spoken alone.
    if (last && speechUnits(rest) < min.sentence) last.text = joinPieces(last.text, rest, lang);
    else result.push({ text: rest, breakAfter: 'end' });
  }
  if (result.length > 0) result[result.length - 1].breakAfter = 'end';
  return result;
}

function joinPieces(a: string, b: string, lang: Lang): string {
  return lang === 'en' || /[A-Za-z0-9.,;:!?]$/.test(a) ? `${a} ${b}` : a + b;
}
