/**
 * Telling an acknowledgement (嗯, 对对, 好的好的, uh-huh, okay yeah) from a real interruption. Chinese has no
 * spaces, so "how many words" means Han characters (each a syllable, roughly a word's weight in speech) plus
 * Latin words from Intl.Segmenter, never whitespace-separated chunks (which would count 我已经还款了 as one word).
 */

const segmenter = new Intl.Segmenter('en', { granularity: 'word' });
const HAN = /\p{Script=Han}/u;

/** Spoken words in a transcript: every Han character counts one, every Latin or digit word counts one. */
export function countSpokenWords(text: string): number {
  let n = 0;
  for (const s of segmenter.segment(text)) {
    if (!s.isWordLike) continue;
    let han = 0;
    for (const ch of s.segment) if (HAN.test(ch)) han++;
    // A segment mixing scripts ("ok好的"): Han characters each, plus one for the Latin part.
    n += han > 0 ? han + (/[\p{L}\p{N}]/u.test(s.segment.replace(/\p{Script=Han}/gu, '')) ? 1 : 0) : 1;
  }
  return n;
}

/** Lower-case, no spaces, punctuation or leading fillers: how backchannels and echoes are compared. */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\s\p{P}]+/gu, '')
    .replace(/^(嗯|啊|呃|um|uh)+(?=.)/u, '');
}

/**
 * A transcript is a backchannel when it is made only of configured acknowledgements, repeated or chained
 * (嗯嗯, 对对对, 好的好的, 嗯对, "okay yeah"), and is short: `maxWords` spoken words at most.
 */
export class BackchannelMatcher {
  private readonly tokens: string[];

  constructor(
    phrases: readonly string[],
    private readonly maxWords = 4,
  ) {
    this.tokens = [...new Set(phrases.map((p) => p.toLowerCase().replace(/[\s\p{P}]+/gu, '')).filter((p) => p.length > 0))].sort(
      (a, b) => b.length - a.length,
    );
  }

  matches(text: string): boolean {
    if (countSpokenWords(text) > this.maxWords) return false;
    const t = text.toLowerCase().replace(/[\s\p{P}]+/gu, '');
    return t.length > 0 && this.consume(t, 0);
  }

  private consume(t: string, at: number): boolean {
    if (at === t.length) return true;
    for (const tok of this.tokens) if (t.startsWith(tok, at) && this.consume(t, at + tok.length)) return true;
    return false;
  }
}
