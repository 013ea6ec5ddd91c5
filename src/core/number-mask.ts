import { parsePhoneNumberFromString } from 'libphonenumber-js';

/*
 * Number masking (号码脱敏). One set of rules for logs, API responses, the console, transcripts and exports:
 * - CN mobile (1[3-9] + 9 digits, with or without +86/0086): first 3 and last 4 stay, 138****5678.
 * - Other E.164 numbers (+CC...): the country code and the last 4 stay, the rest is starred.
 * - Landlines, bank cards, ID numbers and anything else with 7+ digits: only the last 4 stay.
 * - Fewer than 7 digits (extensions, 95588-style service numbers, DTMF menus) is not personal and stays.
 * Separators keep their place so a masked value still reads like the original.
 */

/** Digit runs shorter than this are extensions or service numbers, not personal numbers. */
export const MIN_MASKED_DIGITS = 7;
const MASK = '*';
const CN_MOBILE = /^(?:\+?86|0086)?(1[3-9]\d{9})$/;

/**
 * Which digit positions (over the digits only, left to right) stay visible for a number whose digits are
 * `digits` and which had a leading `+` when `plus` is set. Empty set = nothing to hide.
 */
function visibleDigits(digits: string, plus: boolean): { keep: (index: number) => boolean } | undefined {
  const n = digits.length;
  if (n < MIN_MASKED_DIGITS) return undefined;
  const mobile = CN_MOBILE.exec(plus ? `+${digits}` : digits);
  if (mobile) {
    const prefix = n - 11;
    // Country prefix, the 3-digit carrier block and the last 4 stay.
    return { keep: (i) => i < prefix + 3 || i >= n - 4 };
  }
  if (plus) {
    const parsed = parsePhoneNumberFromString(`+${digits}`);
    const cc = parsed?.countryCallingCode ? parsed.countryCallingCode.length : Math.min(3, n - 4);
    return { keep: (i) => i < cc || i >= n - 4 };
  }
  return { keep: (i) => i >= n - 4 };
}

/** Stars the hidden digits of `value` in place; other characters (separators, letters) are left alone. */
function starDigits(value: string, keep: (index: number) => boolean): string {
  let index = 0;
  let out = '';
  for (const ch of value) {
    if (ch >= '0' && ch <= '9') {
      out += keep(index) ? ch : MASK;
      index++;
    } else out += ch;
  }
  return out;
}

/**
 * Masks one phone/card/ID number: `13800138000` -> `138****8000`, `+8613800138000` -> `+86138****8000`,
 * `+14155552671` -> `+1******2671`, `010-62345678` -> `***-****5678`. A value with fewer than 7 digits is
 * returned as is; text with several numbers in it (a dial string, a sentence) goes through `maskText`.
 */
export function maskNumber(value: string): string;
export function maskNumber(value: string | undefined): string | undefined;
export function maskNumber(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return value;
  const digits = value.replace(/\D/g, '');
  const plus = /^\s*(?:\+|tel:\+)/.test(value);
  const rule = visibleDigits(digits, plus);
  return rule ? starDigits(value, rule.keep) : value;
}

/** Chinese spoken digits as ASR writes them (幺 is the telephone "one", 两 sometimes "two"). */
const ZH_DIGITS: Record<string, string> = {
  零: '0', 〇: '0', 洞: '0', 一: '1', 幺: '1', 二: '2', 两: '2', 三: '3', 四: '4', 五: '5', 六: '6', 七: '7', 八: '8', 九: '9', 拐: '7',
};
const EN_DIGITS: Record<string, string> = {
  zero: '0', oh: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9',
};
const EN_WORDS_BY_DIGIT = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** A run of Arabic and Chinese digits with the separators people and ASR put between groups. */
const DIGIT_RUN = /\+?[0-9零〇洞一幺二两三四五六七八九拐](?:[0-9零〇洞一幺二两三四五六七八九拐]|[ \-\u3000](?=[0-9零〇洞一幺二两三四五六七八九拐]))*/g;
/** A run of English digit words, `double`/`triple` included. */
const EN_RUN =
  /\b(?:(?:double|triple)[ -]+)?(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?:[ ,\-]+(?:(?:double|triple)[ -]+)?(?:zero|oh|one|two|three|four|five|six|seven|eight|nine))*\b/gi;

/** Dates and times written with separators are not numbers of a person. */
const DATE_LIKE = /^\d{4}-\d{1,2}-\d{1,2}$/;

function maskDigitRun(run: string): string {
  if (DATE_LIKE.test(run)) return run;
  let digits = '';
  for (const ch of run) {
    if (ch >= '0' && ch <= '9') digits += ch;
    else if (ZH_DIGITS[ch] !== undefined) digits += ZH_DIGITS[ch];
  }
  const rule = visibleDigits(digits, run.startsWith('+'));
  if (!rule) return run;
  let index = 0;
  let out = '';
  for (const ch of run) {
    const isDigit = (ch >= '0' && ch <= '9') || ZH_DIGITS[ch] !== undefined;
    if (isDigit) {
      out += rule.keep(index) ? ch : MASK;
      index++;
    } else out += ch;
  }
  return out;
}

function maskEnglishRun(run: string): string {
  const words = run.toLowerCase().split(/[ ,\-]+/).filter((w) => w !== '');
  let digits = '';
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'double' || w === 'triple') {
      const next = EN_DIGITS[words[i + 1] ?? ''];
      if (next !== undefined) {
        digits += next.repeat(w === 'double' ? 2 : 3);
        i++;
      }
      continue;
    }
    digits += EN_DIGITS[w] ?? '';
  }
  const rule = visibleDigits(digits, false);
  if (!rule) return run;
  const shown: string[] = [];
  for (let i = 0; i < digits.length; i++) shown.push(rule.keep(i) ? EN_WORDS_BY_DIGIT[Number(digits[i])]! : MASK);
  // Consecutive stars read as one hidden group: "one three eight **** eight zero zero zero".
  return shown.join(' ').replace(/\*(?: \*)+/g, (stars) => stars.replace(/ /g, ''));
}

/**
 * Masks every number in free text: transcripts, bot prompts, dial strings (`PJSIP/13800138000@trunk`), error
 * messages. Digit runs in Arabic numerals, spoken Chinese (一三八零零一三八零零零, 幺) and spoken English
 * ("one three eight ...", "double five") are masked by the same rules as `maskNumber`.
 */
export function maskText(text: string): string;
export function maskText(text: string | undefined): string | undefined;
export function maskText(text: string | undefined): string | undefined {
  if (!text) return text;
  let out = text.replace(DIGIT_RUN, maskDigitRun);
  if (/[a-z]/i.test(out)) out = out.replace(EN_RUN, maskEnglishRun);
  return out;
}

/** Variable names whose values are numbers of a person (phone, card, account, ID). */
const SENSITIVE_NAME = /phone|mobile|msisdn|tel|cell|card|account|acct|iban|ssn|id_?card|id_?no|idnumber|identity|passport|(?:^|_)(?:ani|dnis)(?:$|_)|caller|callee|number|手机|电话|号码|卡号|账号|身份证/i;

/** True when a variable's name says it holds a phone, card, account or ID number. */
export function isSensitiveName(name: string): boolean {
  return SENSITIVE_NAME.test(name);
}

/**
 * Masks flow/CRM variables: values of sensitive-looking names are masked as numbers (even short-ish ones are
 * kept only to the last 4 digits when they have 5+), and every other value has the numbers in it masked.
 */
export function maskVariables(variables: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value !== 'string') {
      out[name] = value;
      continue;
    }
    if (isSensitiveName(name)) {
      const digits = value.replace(/\D/g, '');
      out[name] = digits.length >= 5 && digits.length < MIN_MASKED_DIGITS ? starDigits(value, (i) => i >= digits.length - 4) : maskText(value);
    } else out[name] = maskText(value);
  }
  return out;
}

/**
 * Masks any log/JSON value: strings as text, objects and arrays field by field (variables-style, so sensitive
 * names are masked as numbers). Used by pino redaction where the shape of the value is not known.
 */
export function maskValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = typeof v === 'string' && isSensitiveName(k) ? maskVariables({ [k]: v })[k] : maskValue(v, depth + 1);
  }
  return out;
}
