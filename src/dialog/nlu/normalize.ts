import type { Lang } from '../types.ts';

// Filler words carry no meaning for intents; 嗯 alone is kept because on its own it is an answer (yes).
// 那个 is a filler only at the start ("那个，我下周还"); inside it points at something ("前面那个").
const zhFillers = /^那个|就是说|然后呢|呃+|^额+|啊+|呀+|哦+|噢+|唉+|哎+|诶+|嘛|啦|哈+|呢|吧|喔/g;
const zhLeadingHm = /^嗯+(?=.)|(?<=.)嗯+$/g;
const zhPunctuation = /[\s\p{P}\p{S}]+/gu;
// Streaming ASR stutters (不需需要, 请请问) and callers repeat (是是是, 不不不): a character repeated at once counts
// once, on both sides of the match, so 不需需要 still reads as a refusal and 谢谢 still matches 谢谢.
const zhRepeats = /([\u4e00-\u9fff])\1+/gu;

const enFillers = /\b(?:um+|uh+|er+|erm+|hmm+|mm+|ah+|oh+|well|you know|i mean|like i said)\b/g;
const enContractions: Array<[RegExp, string]> = [
  [/\bcan't\b|\bcannot\b/g, 'can not'],
  [/\bwon't\b/g, 'will not'],
  [/\b(\w+)n't\b/g, '$1 not'],
  [/\bi'm\b/g, 'i am'],
  [/\b(\w+)'re\b/g, '$1 are'],
  [/\b(\w+)'ll\b/g, '$1 will'],
  [/\b(\w+)'ve\b/g, '$1 have'],
  [/\b(\w+)'d\b/g, '$1 would'],
  [/\b(it|that|what|who|there|he|she)'s\b/g, '$1 is'],
  [/\bdont\b/g, 'do not'],
  [/\bdoesnt\b/g, 'does not'],
  [/\bim\b/g, 'i am'],
];

/** NFKC folds full-width letters and digits (ＡＢＣ１２３) to ASCII, as ASR and typed input mix both. */
function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Normalizes an utterance for matching: case, width, punctuation, contractions and fillers. */
export function normalizeUtterance(text: string, lang: Lang): string {
  let t = fold(text);
  if (lang === 'zh' || /[\u4e00-\u9fff]/.test(t)) {
    // Digits separated by commas (3,500) keep their value once punctuation goes.
    t = t.replace(/(\d),(?=\d{3})/g, '$1');
    // Decimal points and clock colons between digits survive punctuation removal.
    t = t.replace(/(\d)\.(\d)/g, '$1\u0000$2').replace(/(\d)[:：](\d)/g, '$1\u0001$2');
    t = t.replace(zhPunctuation, '').replace(/\u0000/g, '.').replace(/\u0001/g, ':').replace(zhRepeats, '$1');
    const withoutFillers = t.replace(zhLeadingHm, '').replace(zhFillers, '');
    return withoutFillers.length > 0 ? withoutFillers : t;
  }
  t = t.replace(/[’‘`]/g, "'").replace(/(\d),(?=\d{3})/g, '$1');
  for (const [re, to] of enContractions) t = t.replace(re, to);
  t = t.replace(/[^\p{L}\p{N}.$%' ]+/gu, ' ').replace(/(?<!\d)\.|\.(?!\d)/g, ' ').replace(/'/g, '');
  t = t.replace(/\s+/g, ' ').trim();
  // Backchannel sounds that mean yes would otherwise lose their first half as a filler.
  t = t.replace(/\buh huh\b|\buh-huh\b/g, 'uhhuh').replace(/\bmm hmm\b|\bmm-hmm\b/g, 'mmhmm');
  const withoutFillers = t.replace(enFillers, ' ').replace(/\s+/g, ' ').trim();
  return withoutFillers.length > 0 ? withoutFillers : t;
}

/** Normalizes a lexicon phrase the same way utterances are, so both sides compare equal. */
export function normalizePhrase(phrase: string, lang: Lang): string {
  let t = fold(phrase);
  if (lang === 'zh' && /[\u4e00-\u9fff]/.test(t)) {
    // Utterances lose their fillers, so phrases must too ("前面那个" is heard as "前面").
    const bare = t.replace(zhPunctuation, '').replace(zhRepeats, '$1');
    const withoutFillers = bare.replace(zhFillers, '');
    return withoutFillers.length > 0 ? withoutFillers : bare;
  }
  for (const [re, to] of enContractions) t = t.replace(re, to);
  return t.replace(/[^\p{L}\p{N}.$%' ]+/gu, ' ').replace(/'/g, '').replace(/\s+/g, ' ').trim();
}
