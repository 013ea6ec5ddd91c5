/**
 * Sound-alike matching for Chinese. Most Chinese ASR errors are homophones or near-homophones (换款 for 还款,
 * 转仁工 for 转人工, 部需要 for 不需要): the characters differ, the syllables do not. Each character is reduced to
 * its toneless readings (all of them, for characters with several: 还 is hai and huan) from pinyin-pro, folded for
 * the confusions telephone ASR and southern accents make (zh/z, ch/c, sh/s, n/l, -ng/-n). Two characters sound
 * alike when their folded reading sets meet. Readings are cached per character: matching allocates nothing after
 * the first sight of a character. Shared by understanding (intents, QA rules) and the end of turn (cue words).
 */
import { pinyin } from 'pinyin-pro';

const HAN = /^\p{Script=Han}$/u;
const NONE: readonly string[] = [];
const cache = new Map<string, readonly string[]>();

/** Folds a toneless syllable onto its near-homophone class. */
function foldSyllable(syllable: string): string {
  return syllable
    .replace(/^zh/, 'z')
    .replace(/^ch/, 'c')
    .replace(/^sh/, 's')
    .replace(/^l/, 'n')
    .replace(/ng$/, 'n');
}

/** Folded toneless readings of one character ([] for anything that is not a Han character). */
export function readingsOf(ch: string): readonly string[] {
  const hit = cache.get(ch);
  if (hit) return hit;
  let out: readonly string[] = NONE;
  if (HAN.test(ch)) {
    const raw = pinyin(ch, { toneType: 'none', type: 'array', multiple: true }) as string[];
    out = [...new Set(raw.map((r) => foldSyllable(r.toLowerCase())))];
  }
  cache.set(ch, out);
  return out;
}

/** Whether two characters are the same or sound alike. */
export function soundsAlike(a: string, b: string): boolean {
  if (a === b) return true;
  const ra = readingsOf(a);
  if (ra.length === 0) return false;
  const rb = readingsOf(b);
  for (const x of ra) if (rb.includes(x)) return true;
  return false;
}

/** Whether `text` (as an array of characters) sounds like `phrase` at `start`, character for character. */
export function soundsLikeAt(chars: readonly string[], start: number, phrase: readonly string[]): boolean {
  if (start + phrase.length > chars.length) return false;
  for (let k = 0; k < phrase.length; k++) if (!soundsAlike(chars[start + k]!, phrase[k]!)) return false;
  return true;
}

const toneCache = new Map<string, number | null>();

/** The tone (1-4) of a character's main reading; undefined for a neutral tone or anything not a Han character. */
export function toneOf(ch: string): number | undefined {
  const hit = toneCache.get(ch);
  if (hit !== undefined) return hit ?? undefined;
  let tone: number | null = null;
  if (HAN.test(ch)) {
    const reading = (pinyin(ch, { toneType: 'num', type: 'array' }) as string[])[0] ?? '';
    const digit = Number(reading.slice(-1));
    if (digit >= 1 && digit <= 4) tone = digit;
  }
  toneCache.set(ch, tone);
  return tone ?? undefined;
}
