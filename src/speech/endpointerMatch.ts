/**
 * Matching a partial transcript against the answers a dialog step expects. Both sides are normalized the same way:
 * lower case, no spaces or punctuation, no hesitation fillers, so "嗯，是的。" matches "是的" and "Uh, yes" matches "yes".
 */

/** Fillers said before or inside an answer that carry no meaning. Latin ones are removed as whole words only. */
const CJK_FILLERS = /嗯|啊|呃|额|那个/gu;
const LATIN_FILLERS = /\b(?:um+|uh+|erm|hmm+)\b/gu;
const NOT_CONTENT = /[\s\p{P}\p{S}]+/gu;

export function normalizeForMatch(text: string): string {
  return text.toLowerCase().replace(LATIN_FILLERS, ' ').replace(CJK_FILLERS, '').replace(NOT_CONTENT, '');
}

/** Normalized phrases, ready for repeated matching against partials (empty ones dropped). */
export class ExpectedAnswers {
  private phrases: string[] = [];

  set(phrases: readonly string[]): void {
    this.phrases = [...new Set(phrases.map(normalizeForMatch).filter((p) => p.length > 0))];
  }

  get size(): number {
    return this.phrases.length;
  }

  /** Whether the transcript equals or contains one of the phrases. */
  matches(transcript: string): boolean {
    if (this.phrases.length === 0) return false;
    const t = normalizeForMatch(transcript);
    if (t.length === 0) return false;
    return this.phrases.some((p) => t.includes(p));
  }
}
