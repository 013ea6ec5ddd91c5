/**
 * Matching a partial transcript against the answers a dialog step expects. Both sides are normalized the same way:
 * lower case, no spaces or punctuation, no hesitation fillers, so "嗯，是的。" matches "是的" and "Uh, yes" matches "yes".
 */

/** Fillers said before or inside an answer that carry no meaning. Latin ones are removed as whole words only. */
const CJK_FILLERS = /嗯|啊|呃|额|那个/gu;
const LATIN_FILLERS = /\b(?:um+|uh+|erm|hmm+)\b/gu;
const NOT_CONTENT = /[\s\p{P}\p{S}]+/gu;

/** Streaming ASR stutters (不需需要): a CJK character repeated at once counts once, on both sides. */
const CJK_REPEATS = /([\u4e00-\u9fff])\1+/gu;
/** Phrases this long (normalized) still match with one character wrong, missing or extra (再见说一遍 for 再说一遍). */
const FUZZY_MIN_LENGTH = 4;

export function normalizeForMatch(text: string): string {
  return text.toLowerCase().replace(LATIN_FILLERS, ' ').replace(CJK_FILLERS, '').replace(NOT_CONTENT, '').replace(CJK_REPEATS, '$1');
}

/** Whether some substring of `text` is within one edit (substitution, insertion, deletion) of `phrase`. */
function containsWithinOneEdit(text: string, phrase: string): boolean {
  const n = phrase.length;
  for (let len = n - 1; len <= n + 1; len++) {
    for (let start = 0; start + len <= text.length; start++) {
      if (withinOneEdit(text.slice(start, start + len), phrase)) return true;
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
    if (len <= text.length && withinOneEdit(text.slice(text.length - len), phrase)) return true;
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

const NO_MATCH = { matches: false, atEnd: false } as const;
const INSIDE = { matches: true, atEnd: false } as const;
const AT_END = { matches: true, atEnd: true } as const;

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

  /** As matches(), and whether a phrase is what the transcript ends with. */
  match(transcript: string): { matches: boolean; atEnd: boolean } {
    if (this.phrases.length === 0) return NO_MATCH;
    const t = normalizeForMatch(transcript);
    if (t.length === 0) return NO_MATCH;
    let matches = false;
    for (const p of this.phrases) {
      if (t.endsWith(p) || (p.length >= FUZZY_MIN_LENGTH && endsWithinOneEdit(t, p))) return AT_END;
      if (!matches && (t.includes(p) || (p.length >= FUZZY_MIN_LENGTH && containsWithinOneEdit(t, p)))) matches = true;
    }
    return matches ? INSIDE : NO_MATCH;
  }
}
