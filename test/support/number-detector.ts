/**
 * Finds full personal numbers in text (logs, API bodies): unmasked CN mobiles in Arabic or spoken Chinese digits
 * and bank-card numbers (Luhn-valid, card-network prefixes). Used to fail tests whose output leaks a number.
 */
// Not after `digit.`: the fraction digits of a float (a timing such as 6115.14739229025) are no number.
const CN_MOBILE = /(?<![0-9A-Za-z])(?<!\d\.)(?:\+?86|0086)?1[3-9]\d{9}(?![0-9A-Za-z])/g;
const CARD = /(?<![0-9A-Za-z])(?<!\d\.)[3-6]\d{15,18}(?![0-9A-Za-z])/g;
const ZH_DIGIT = '[零〇一幺二两三四五六七八九]';
const ZH_MOBILE = new RegExp(`(?<!${ZH_DIGIT})[一幺][三四五六七八九]${ZH_DIGIT}{9}(?!${ZH_DIGIT})`, 'g');

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function findFullNumbers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(CN_MOBILE)) found.push(m[0]);
  for (const m of text.matchAll(CARD)) if (luhnValid(m[0])) found.push(m[0]);
  for (const m of text.matchAll(ZH_MOBILE)) found.push(m[0]);
  return found;
}
