/**
 * Matching a partial transcript against the answers a dialog step expects. Both sides are normalized the same way:
 * lower case, no punctuation, no hesitation fillers, so "嗯，是的。" matches "是的" and "Uh, yes" matches "yes". Latin words
 * keep one space between them and match as whole words: "no" is no answer inside "not" or "know".
 */

/** Fillers said before or inside an answer that carry no meaning. Latin ones are removed as whole words only. */
const CJK_FILLERS = /嗯|啊|呃|额|那个/gu;
const LATIN_FILLERS = /\b(?:um+|uh+|erm|hmm+)\b/gu;
const NOT_CONTENT = /[\s\p{P}\p{S}]+/gu;

/** Streaming ASR stutters (不需需要): a CJK character repeated at once counts once, on both sides. */
const CJK_REPEATS = /([\u4e00-\u9fff])\1+/gu;
/** Phrases this long (normalized) still match with one character wrong, missing or extra (再见说一遍 for 再说一遍). */
const FUZZY_MIN_LENGTH = 4;

/** Latin letters and digits: the characters of a word that spaces delimit. */
const WORD_CHAR = /[\p{Script=Latin}0-9]/u;
/** A space with no word character on one side of it (next to Han text) delimits nothing. */
const SPACE_NOT_BETWEEN_WORDS = / (?![\p{Script=Latin}0-9])|(?<![\p{Script=Latin}0-9]) /gu;

export function normalizeForMatch(text: string): string {
  return text
    .toLowerCase()
    .replace(LATIN_FILLERS, ' ')
    .replace(CJK_FILLERS, '')
    .replace(NOT_CONTENT, ' ')
    .replace(SPACE_NOT_BETWEEN_WORDS, '')
    .replace(CJK_REPEATS, '$1');
}

/** Whether text[start, end) begins and ends at word edges: a Latin word is never matched by a piece of it. */
function atWordEdges(text: string, start: number, end: number): boolean {
  if (start > 0 && WORD_CHAR.test(text[start]!) && WORD_CHAR.test(text[start - 1]!)) return false;
  if (end < text.length && end > start && WORD_CHAR.test(text[end - 1]!) && WORD_CHAR.test(text[end]!)) return false;
  return true;
}

/** Whether `phrase` occurs in `text` at word edges. */
function containsExactly(text: string, phrase: string): boolean {
  for (let at = text.indexOf(phrase); at >= 0; at = text.indexOf(phrase, at + 1)) {
    if (atWordEdges(text, at, at + phrase.length)) return true;
  }
  return false;
}

/** Whether some substring of `text` is within one edit (substitution, insertion, deletion) of `phrase`. */
function containsWithinOneEdit(text: string, phrase: string): boolean {
  const n = phrase.length;
  for (let len = n - 1; len <= n + 1; len++) {
    for (let start = 0; start + len <= text.length; start++) {
      if (atWordEdges(text, start, start + len) && withinOneEdit(text.slice(start, start + len), phrase)) return true;
    }
  }
  return false;
}

/**
 * Whether the transcript ends with `phrase`, give or take one character: a recognizer that drops an answer's last
 * syllable (再说一 for 再说一遍) has still heard the answer last, and its trailing 一 is no number being spoken.
 */
function endsWithinOneEdit(text: string, phrase: string): boolean {
  for (let len = phrase.length - 1; len <= phrase.length + 1; len++) {
    if (len <= text.length && atWordEdges(text, text.length - len, text.length) && withinOneEdit(text.slice(text.length - len), phrase)) return true;
  }
  return false;
}

function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (a.length < b.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

/**
 * Hums a caller makes while thinking, as the recognizers write them: no word of an answer. Not 那个 or 啊, which are
 * also words (那个不需要, 好啊).
 */
const HUMS = /嗯|呃|额|唔|\b(?:um+|uh+|er|erm|hmm+)\b/gu;

export interface ExpectedMatch {
  /** The transcript equals or contains an expected phrase. */
  matches: boolean;
  /** An expected phrase is what the transcript ends with. */
  atEnd: boolean;
  /**
   * After the answer the caller hummed and said more that is no answer (不嗯 not: 嗯，那个， as the tiny model wrote
   * it): the answer was not the end of the turn, and what follows is a new start.
   */
  humAfter: boolean;
}

const NO_MATCH: ExpectedMatch = { matches: false, atEnd: false, humAfter: false };
const INSIDE: ExpectedMatch = { matches: true, atEnd: false, humAfter: false };
const INSIDE_HUM_AFTER: ExpectedMatch = { matches: true, atEnd: false, humAfter: true };
const AT_END: ExpectedMatch = { matches: true, atEnd: true, humAfter: false };

/** Normalized phrases, ready for repeated matching against partials (empty ones dropped). */
export class ExpectedAnswers {
  private phrases: string[] = [];

  set(phrases: readonly string[]): void {
    this.phrases = [...new Set(phrases.map(normalizeForMatch).filter((p) => p.length > 0))];
  }

  get size(): number {
    return this.phrases.length;
  }

  /** Whether the transcript equals or contains one of the phrases (longer phrases: give or take one character). */
  matches(transcript: string): boolean {
    return this.match(transcript).matches;
  }

  /** As matches(), whether a phrase is what the transcript ends with, and whether a hum came after the answer. */
  match(transcript: string): ExpectedMatch {
    const t = normalizeForMatch(transcript);
    const where = this.find(t);
    if (where !== 'inside') return where === 'end' ? AT_END : NO_MATCH;
    return this.humAfterAnswer(transcript.toLowerCase()) ? INSIDE_HUM_AFTER : INSIDE;
  }

  private find(normalized: string): 'end' | 'inside' | undefined {
    if (this.phrases.length === 0 || normalized.length === 0) return undefined;
    let inside = false;
    for (const p of this.phrases) {
      const endsWith = normalized.endsWith(p) && atWordEdges(normalized, normalized.length - p.length, normalized.length);
      if (endsWith || (p.length >= FUZZY_MIN_LENGTH && endsWithinOneEdit(normalized, p))) return 'end';
      if (!inside && (containsExactly(normalized, p) || (p.length >= FUZZY_MIN_LENGTH && containsWithinOneEdit(normalized, p)))) inside = true;
    }
    return inside ? 'inside' : undefined;
  }

  /** The last hum with words on both sides splits the transcript into an answer and more words that hold none. */
  private humAfterAnswer(lower: string): boolean {
    let last: RegExpExecArray | undefined;
    for (const m of lower.matchAll(HUMS)) {
      if (normalizeForMatch(lower.slice(0, m.index)).length > 0 && normalizeForMatch(lower.slice(m.index + m[0].length)).length > 0) last = m;
    }
    if (last === undefined) return false;
    const before = this.find(normalizeForMatch(lower.slice(0, last.index)));
    return before !== undefined && this.find(normalizeForMatch(lower.slice(last.index + last[0].length))) === undefined;
  }
}
