/**
 * Sound-alike matching for Chinese. Most Chinese ASR errors are homophones or near-homophones (换款 for 还款,
 * 转仁工 for 转人工, 部需要 for 不需要): the characters differ, the syllables do not. Each character is reduced to
 * its toneless readings (all of them, for characters with several: 还 is hai and huan) from pinyin-pro, folded for
 * the confusions telephone ASR and southern accents make (zh/z, ch/c, sh/s, n/l, -ng/-n). Two characters sound
 * alike when their folded reading sets meet. Readings are cached per character: matching allocates nothing after
 * the first sight of a character.
 */
import { pinyin } from 'pinyin-pro';

const HAN = /^\p{Script=Han}$/u;
const NONE: readonly string[] = [];
const cache = new Map<string, readonly string[]>();

/** Folds a toneless syllable onto its near-homophone class. */
export function foldSyllable(syllable: string): string {
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

const DIGIT_BY_READING: Readonly<Record<string, string>> = {
  yi: '一', er: '二', san: '三', si: '四', wu: '五', liu: '六', qi: '七', ba: '八', jiu: '九',
};
/** Characters that read like a digit but are nearly always themselves before a counter (就点, 吧, 把号码, 点儿). */
const NOT_DIGIT_SOUND_ALIKES = new Set(['就', '吧', '把', '儿', '而', '以', '已', '几']);
/** Counters after which a spoken digit is expected (五分, 九号, 七点, 三块, 五星). */
const DIGIT_COUNTERS = new Set(['分', '号', '点', '块', '块钱', '星', '点钟']);
const digitCache = new Map<string, string | null>();
const zhWords = new Intl.Segmenter('zh', { granularity: 'word' });

/** The digit a character sounds exactly like (main reading, toneless, unfolded: 舞 -> 五), if any. */
function digitSoundOf(ch: string): string | undefined {
  const hit = digitCache.get(ch);
  if (hit !== undefined) return hit ?? undefined;
  let digit: string | null = null;
  if (HAN.test(ch) && !NOT_DIGIT_SOUND_ALIKES.has(ch)) {
    const reading = (pinyin(ch, { toneType: 'none', type: 'array' }) as string[])[0]?.toLowerCase();
    digit = (reading !== undefined && DIGIT_BY_READING[reading]) || null;
  }
  digitCache.set(ch, digit);
  return digit ?? undefined;
}

/**
 * Reads a homophone of a digit before a counter as the digit (舞分 -> 五分, 久号 -> 九号): the recognizer hears the
 * syllable right and picks the wrong character. Only a character that stands alone as a word (ICU segmentation)
 * right before a counter that is a word of its own, so 一起点, 旧号码 and 好吧分期 stay as they are.
 */
export function digitsFromSoundAlikes(text: string): string {
  let out: string | undefined;
  let prev: { segment: string; index: number } | undefined;
  for (const seg of zhWords.segment(text)) {
    if (prev !== undefined && DIGIT_COUNTERS.has(seg.segment) && [...prev.segment].length === 1) {
      const digit = digitSoundOf(prev.segment);
      if (digit !== undefined && digit !== prev.segment) {
        out ??= text;
        out = out.slice(0, prev.index) + digit + out.slice(prev.index + prev.segment.length);
      }
    }
    prev = { segment: seg.segment, index: seg.index };
  }
  return out ?? text;
}
