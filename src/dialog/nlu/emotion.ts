import type { Lang } from '../types.ts';
import type { EmotionSignal } from './types.ts';

interface EmotionLexicon {
  angry: string[];
  negative: string[];
  positive: string[];
  /** Words that flip a following positive word to negative (不满意, not happy). */
  negators: string[];
}

const byLengthDesc = (words: string[]): string[] => [...words].sort((a, b) => b.length - a.length);

const rawLexicons: Record<Lang, EmotionLexicon> = {
  zh: {
    angry: [
      '烦死', '烦不烦', '有病', '神经病', '滚', '骚扰', '投诉', '再打我就', '去死', '他妈', '妈的',
      '什么玩意', '有完没完', '烦人', '气死', '骗子', '举报', '报警', '脑子有', '闭嘴', '你们烦', '天天打', '搞什么',
    ],
    negative: [
      '不满意', '失望', '太差', '很差', '差劲', '糟糕', '不好', '不行', '麻烦', '难受', '没钱', '困难', '不开心', '郁闷',
      '慢死', '太慢', '垃圾', '坑', '后悔', '生气',
    ],
    positive: ['谢谢', '感谢', '满意', '很好', '不错', '挺好', '好的', '棒', '开心', '喜欢', '太好了', '辛苦', '没问题', '可以的'],
    negators: ['不', '没', '不太', '不是很', '不怎么'],
  },
  en: {
    angry: [
      'stop bothering', 'leave me alone', 'harass', 'harassment', 'ridiculous', 'damn', 'hell',
      'shut up', 'scam', 'scammer', 'sue', 'report you', 'sick of', 'fed up', 'how dare', 'idiot', 'stupid',
      'annoying', 'pissed', 'furious',
    ],
    negative: [
      'unhappy', 'disappointed', 'terrible', 'awful', 'bad', 'poor', 'worst', 'problem', 'difficult', 'upset',
      'frustrated', 'slow', 'broke', 'can not afford', 'hardship',
    ],
    positive: ['thank', 'thanks', 'great', 'good', 'happy', 'excellent', 'perfect', 'wonderful', 'love', 'satisfied', 'appreciate', 'awesome', 'nice'],
    negators: ['not', 'never', 'no', 'not very', 'not really'],
  },
};

/** Finds lexicon words not overlapping earlier finds (so 满意 inside 不满意 is not counted twice). */
// Longest words first, so a longer phrase claims its characters before a word inside it does.
const lexicons: Record<Lang, EmotionLexicon> = {
  zh: { ...rawLexicons.zh, angry: byLengthDesc(rawLexicons.zh.angry), negative: byLengthDesc(rawLexicons.zh.negative), positive: byLengthDesc(rawLexicons.zh.positive) },
  en: { ...rawLexicons.en, angry: byLengthDesc(rawLexicons.en.angry), negative: byLengthDesc(rawLexicons.en.negative), positive: byLengthDesc(rawLexicons.en.positive) },
};

function findWords(text: string, words: string[], wordBoundary: boolean, taken: Uint8Array): number[] {
  const starts: number[] = [];
  for (const w of words) {
    let from = 0;
    for (;;) {
      const i = text.indexOf(w, from);
      if (i < 0) break;
      from = i + w.length;
      if (wordBoundary) {
        const before = text[i - 1];
        if (before !== undefined && /[a-z]/.test(before)) continue;
        const after = text.slice(i + w.length);
        // "thank" counts in "thanks"; other words need a word boundary ("hell" is not in "hello").
        if (/^[a-z]/.test(after) && !/^(?:s|ed|ing|ment|y)\b/.test(after)) continue;
      }
      let free = true;
      for (let k = i; k < i + w.length; k++) if (taken[k]) free = false;
      if (!free) continue;
      taken.fill(1, i, i + w.length);
      starts.push(i);
    }
  }
  return starts;
}

function precededByNegator(text: string, start: number, negators: string[], wordBoundary: boolean): boolean {
  const before = text.slice(0, start);
  return negators.some((n) => (wordBoundary ? new RegExp(`\\b${n}\\s+$`).test(before) : before.endsWith(n)));
}

/**
 * A per-turn emotion cue from lexicon and punctuation. Text-level only: it flags the obvious (an angry caller
 * for a transfer) and stays neutral when unsure.
 */
export function detectEmotion(rawText: string, lang: Lang): EmotionSignal {
  const lex = lexicons[lang];
  const folded = rawText.normalize('NFKC').toLowerCase();
  const en = lang === 'en';
  const text = en ? folded.replace(/n't\b/g, ' not').replace(/\s+/g, ' ') : folded.replace(/\s+/g, '');
  const exclamations = (rawText.match(/[!！]/g) ?? []).length;
  const shouting = en && /[A-Z]{4,}/.test(rawText) && rawText === rawText.toUpperCase();

  const taken = new Uint8Array(text.length);
  const angry = findWords(text, lex.angry, en, taken).length;
  let negative = findWords(text, lex.negative, en, taken).length;
  let positive = 0;
  for (const start of findWords(text, lex.positive, en, taken)) {
    if (precededByNegator(text, start, lex.negators, en)) negative++;
    else positive++;
  }
  const intensity = Math.min(1, exclamations * 0.25 + (shouting ? 0.4 : 0));

  if (angry > 0 || (negative > 0 && intensity >= 0.5)) {
    return { label: 'angry', score: Math.min(1, 0.6 + 0.2 * angry + intensity * 0.3) };
  }
  if (negative > positive) return { label: 'negative', score: Math.min(1, 0.5 + 0.15 * negative + intensity * 0.2) };
  if (positive > negative) return { label: 'positive', score: Math.min(1, 0.5 + 0.15 * positive) };
  if (intensity >= 0.75) return { label: 'angry', score: 0.5 + intensity * 0.2 };
  return { label: 'neutral', score: 0.5 };
}
