const zhDigit: Record<string, number> = {
  零: 0, 〇: 0, 洞: 0, 一: 1, 幺: 1, 壹: 1, 二: 2, 两: 2, 贰: 2, 三: 3, 叁: 3, 四: 4, 肆: 4,
  五: 5, 伍: 5, 六: 6, 陆: 6, 七: 7, 柒: 7, 八: 8, 捌: 8, 九: 9, 玖: 9,
};
const zhUnit: Record<string, number> = { 十: 10, 拾: 10, 百: 100, 佰: 100, 千: 1000, 仟: 1000 };
const zhBigUnit: Record<string, number> = { 万: 10_000, 亿: 100_000_000 };

// 一 in 一下/一些/一直... is not a number; 两 only counts before a unit or measure word.
const zhRun = /[零〇洞一幺壹二两贰三叁四肆五伍六陆七柒八捌九玖十拾百佰千仟万亿]+/g;
const notNumberAfterOne = /^[下些直起样定般切共旦向边面遍会]/;

/**
 * Value of a Chinese numeral: 三千五百 = 3500, colloquial 三千五 = 3500, 一万二 = 12000, 十五 = 15.
 * Runs of bare digits (一三八) are read as a digit string instead.
 */
export function parseChineseNumeral(run: string): { value: number; digitString?: string } | undefined {
  const chars = [...run];
  if (chars.length === 0) return undefined;
  const hasUnit = chars.some((c) => c in zhUnit || c in zhBigUnit);
  if (!hasUnit) {
    const digits = chars.map((c) => zhDigit[c]);
    if (digits.some((d) => d === undefined)) return undefined;
    const digitString = digits.join('');
    return { value: Number(digitString), digitString: digits.length > 1 ? digitString : undefined };
  }
  let total = 0;
  let section = 0;
  let current = -1;
  let lastUnit = 0;
  for (const c of chars) {
    const d = zhDigit[c];
    if (d !== undefined) {
      current = d;
      continue;
    }
    const unit = zhUnit[c];
    if (unit !== undefined) {
      section += (current < 0 ? 1 : current) * unit;
      current = -1;
      lastUnit = unit;
      continue;
    }
    const big = zhBigUnit[c];
    if (big !== undefined) {
      section += current < 0 ? 0 : current;
      total += (section === 0 ? 1 : section) * big;
      section = 0;
      current = -1;
      lastUnit = big;
    }
  }
  if (current >= 0) {
    // A trailing digit after a unit is shorthand for the next lower unit (三千五 = 3500, 一万二 = 12000).
    const tailUnit = lastUnit >= 100 ? lastUnit / 10 : 1;
    const last = chars[chars.length - 1];
    const beforeLast = chars[chars.length - 2];
    const isShorthand = beforeLast !== undefined && (beforeLast in zhUnit || beforeLast in zhBigUnit) && beforeLast !== '十' && beforeLast !== '拾';
    section += last !== undefined && isShorthand ? current * tailUnit : current;
  }
  return { value: total + section };
}

/** Rewrites Chinese numerals in a normalized utterance as Arabic digits (下周三 keeps its 三: weekdays read it). */
export function chineseNumeralsToArabic(text: string, onDigitString?: (digits: string) => void): string {
  return text.replace(zhRun, (run, offset: number, whole: string) => {
    const after = whole.slice(offset + run.length);
    const before = whole.slice(0, offset);
    if (run === '一' && notNumberAfterOne.test(after)) return run;
    if (/(?:周|星期|礼拜)$/.test(before) && run.length === 1) return run;
    if (run === '两' && !/^[天个点号块元万千百周年月次分岁]/.test(after)) return run;
    if (run === '万' || run === '亿') return run;
    const parsed = parseChineseNumeral(run);
    if (!parsed) return run;
    if (parsed.digitString !== undefined) onDigitString?.(parsed.digitString);
    return parsed.digitString ?? String(parsed.value);
  });
}

const enSmall: Record<string, number> = {
  zero: 0, oh: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18,
  nineteen: 19,
};
const enTens: Record<string, number> = {
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90,
};
const enScale: Record<string, number> = { hundred: 100, thousand: 1000, million: 1_000_000 };
const enOrdinal: Record<string, number> = {
  first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10,
  eleventh: 11, twelfth: 12, thirteenth: 13, fourteenth: 14, fifteenth: 15, sixteenth: 16, seventeenth: 17,
  eighteenth: 18, nineteenth: 19, twentieth: 20, thirtieth: 30,
};

function isNumberWord(w: string): boolean {
  return w in enSmall || w in enTens || w in enScale;
}

/**
 * Rewrites English number words as digits: "three thousand five hundred" = 3500, "twenty first" = 21st,
 * "two four zero eight" (single digits in a row) = 2408, as callers read out codes that way.
 */
export function englishNumbersToArabic(text: string, onDigitString?: (digits: string) => void): string {
  const words = text.split(' ');
  const out: string[] = [];
  let i = 0;
  while (i < words.length) {
    const w = words[i] ?? '';
    // "oh" is a digit only inside a run of digits.
    if (!isNumberWord(w) || w === 'oh') {
      // "second" is more often a unit of time than the 2nd.
      const ord = w === 'second' ? undefined : enOrdinal[w];
      out.push(ord !== undefined ? `${ord}th` : w);
      i++;
      continue;
    }
    const start = i;
    const run: string[] = [];
    while (i < words.length) {
      const x = words[i] ?? '';
      if (isNumberWord(x) || (x === 'and' && run.length > 0 && isNumberWord(words[i + 1] ?? '') && !(words[i + 1]! in enScale))) {
        run.push(x);
        i++;
      } else break;
    }
    const digitsOnly = run.every((x) => x in enSmall && (enSmall[x] ?? 10) < 10);
    if (digitsOnly && run.length > 1) {
      const digits = run.map((x) => enSmall[x]).join('');
      onDigitString?.(digits);
      out.push(digits);
    } else {
      let total = 0;
      let current = 0;
      for (const x of run) {
        if (x === 'and') continue;
        const s = enSmall[x] ?? enTens[x];
        if (s !== undefined) current += s;
        else if (x === 'hundred') current = (current || 1) * 100;
        else {
          const scale = enScale[x] ?? 1;
          total += (current || 1) * scale;
          current = 0;
        }
      }
      let value = total + current;
      // "twenty first": the ordinal ends the number.
      const next = words[i] ?? '';
      const ord = enOrdinal[next];
      if (ord !== undefined && ord < 10 && value % 10 === 0 && value >= 20) {
        value += ord;
        out.push(`${value}th`);
        i++;
        continue;
      }
      out.push(String(value));
    }
    if (i === start) i++;
  }
  return out.join(' ');
}
