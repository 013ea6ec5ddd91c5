import type { Lang } from '../types.ts';
import { parseDateTime } from './dates.ts';
import { chineseNumeralsToArabic, englishNumbersToArabic } from './numbers.ts';
import { digitsFromSoundAlikes } from './pinyin.ts';
import type { Slots } from './types.ts';

const zhAmount = /(?:[¥￥]\s*)?(\d+(?:\.\d+)?)(?:点(\d+))?(万|千)?(块钱|块|元|人民币|rmb)?(\d)?(毛|角)?/g;
const enAmount = /(?:\$\s?(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?) ?(thousand|k)? ?(dollars?|bucks|usd|yuan|rmb)(?: and (\d+) cents?)?)/;

/** The utterance with all numbers as Arabic digits: what slot extraction and date parsing read. */
export function toArabic(normalized: string, lang: Lang, onDigitString?: (digits: string) => void): string {
  return lang === 'zh' ? chineseNumeralsToArabic(digitsFromSoundAlikes(normalized), onDigitString) : englishNumbersToArabic(normalized, onDigitString);
}

function zhAmountOf(text: string): number | undefined {
  for (const m of text.matchAll(zhAmount)) {
    const [, intPart, decimalByDian, big, currency, tailDigit, jiao] = m;
    if (!big && !currency && !m[0].startsWith('¥') && !m[0].startsWith('￥')) continue;
    let value = Number(decimalByDian ? `${intPart}.${decimalByDian}` : intPart);
    if (big === '万') value *= 10_000;
    if (big === '千') value *= 1000;
    // 五块五 = 5.5; 三块五毛 = 3.5
    if (currency && (currency === '块' || currency === '块钱' || currency === '元') && tailDigit) value += Number(tailDigit) / 10;
    else if (jiao && tailDigit) value += Number(tailDigit) / 10;
    return value;
  }
  return undefined;
}

function enAmountOf(text: string): number | undefined {
  const m = text.match(enAmount);
  if (!m) return undefined;
  if (m[1]) return Number(m[1]);
  let value = Number(m[2]);
  if (m[3]) value *= 1000;
  if (m[5]) value += Number(m[5]) / 100;
  return value;
}

/** Numbers, money, dates, times and digit strings heard in one normalized utterance. */
export function extractSlots(normalized: string, lang: Lang, now: Date, timeZone: string): Slots {
  const spokenDigitRuns: string[] = [];
  const arabic = toArabic(normalized, lang, (d) => spokenDigitRuns.push(d));
  const slots: Slots = {};
  const amount = lang === 'zh' ? zhAmountOf(arabic) : enAmountOf(arabic);
  if (amount !== undefined) slots.amount = amount;
  const { date, time } = parseDateTime(arabic, lang, now, timeZone);
  if (date) slots.date = date;
  if (time) slots.time = time;
  for (const m of arabic.matchAll(/\d+(?:\.\d+)?/g)) {
    const raw = m[0];
    // Digits read one by one (一三八, "two four zero eight") or typed with a leading zero or 5+ digits are a code
    // or phone number, not a quantity.
    const spokenAsDigits = spokenDigitRuns.includes(raw);
    const typedAsCode = /^\d+$/.test(raw) && !spokenAsDigits && ((raw.length > 1 && raw.startsWith('0')) || raw.length >= 7);
    if (spokenAsDigits || typedAsCode) {
      if (raw.length >= 2) slots.digits ??= raw;
      if (spokenAsDigits && raw.length <= 2 && slots.number === undefined) slots.number = Number(raw);
      continue;
    }
    if (slots.number === undefined) slots.number = Number(raw);
  }
  return slots;
}
