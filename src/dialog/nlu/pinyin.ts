/**
 * Digits heard as their homophones (舞分 for 五分). The sound-alike matching itself is shared with the other stages
 * (core/sound-alike.ts).
 */
import { pinyin } from 'pinyin-pro';

const HAN = /^\p{Script=Han}$/u;

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
