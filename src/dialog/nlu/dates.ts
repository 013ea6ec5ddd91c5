/** A day on the calendar of the call's time zone, free of clock and DST arithmetic. */
interface CivilDate {
  y: number;
  m: number; // 1-12
  d: number;
}

export interface DateTimeSlots {
  date?: string;
  time?: string;
}

const formatterCache = new Map<string, Intl.DateTimeFormat>();

function civilToday(now: Date, timeZone: string): CivilDate {
  let f = formatterCache.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatterCache.set(timeZone, f);
  }
  const parts = f.formatToParts(now);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

function addDays(c: CivilDate, days: number): CivilDate {
  const t = new Date(Date.UTC(c.y, c.m - 1, c.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Monday = 1 ... Sunday = 7. */
function isoWeekday(c: CivilDate): number {
  const wd = new Date(Date.UTC(c.y, c.m - 1, c.d)).getUTCDay();
  return wd === 0 ? 7 : wd;
}

function compare(a: CivilDate, b: CivilDate): number {
  return a.y - b.y || a.m - b.m || a.d - b.d;
}

function monthOffset(c: CivilDate, months: number, day: number | 'last'): CivilDate {
  const idx = c.y * 12 + (c.m - 1) + months;
  const y = Math.floor(idx / 12);
  const m = (idx % 12) + 1;
  const last = daysInMonth(y, m);
  return { y, m, d: day === 'last' ? last : Math.min(day, last) };
}

function iso(c: CivilDate): string {
  return `${c.y}-${String(c.m).padStart(2, '0')}-${String(c.d).padStart(2, '0')}`;
}

const zhWeekday: Record<string, number> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 日: 7, 天: 7, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7 };
const enWeekday: Record<string, number> = {
  monday: 1, mon: 1, tuesday: 2, tue: 2, tues: 2, wednesday: 3, wed: 3, thursday: 4, thu: 4, thurs: 4,
  friday: 5, fri: 5, saturday: 6, sat: 6, sunday: 7, sun: 7,
};
const enMonth: Record<string, number> = {
  january: 1, jan: 1, february: 2, feb: 2, march: 3, mar: 3, april: 4, apr: 4, may: 5, june: 6, jun: 6,
  july: 7, jul: 7, august: 8, aug: 8, september: 9, sep: 9, sept: 9, october: 10, oct: 10, november: 11,
  nov: 11, december: 12, dec: 12,
};

function weekdayIn(today: CivilDate, weekOffset: number, weekday: number): CivilDate {
  const monday = addDays(today, 1 - isoWeekday(today));
  return addDays(monday, weekOffset * 7 + weekday - 1);
}

/** A weekday without "this/next": the next one after today (周三 said on a Friday means next Wednesday). */
function upcomingWeekday(today: CivilDate, weekday: number): CivilDate {
  const diff = (weekday - isoWeekday(today) + 7) % 7;
  return addDays(today, diff === 0 ? 7 : diff);
}

/** A day of the month: this month's if still ahead (or today), otherwise next month's. */
function upcomingDayOfMonth(today: CivilDate, day: number): CivilDate | undefined {
  if (day < 1 || day > 31) return undefined;
  const thisMonth = monthOffset(today, 0, day);
  return thisMonth.d === day && compare(thisMonth, today) >= 0 ? thisMonth : monthOffset(today, 1, day);
}

function monthDay(today: CivilDate, month: number, day: number): CivilDate | undefined {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(today.y, month)) return undefined;
  const c = { y: today.y, m: month, d: day };
  return compare(c, today) >= 0 ? c : { y: today.y + 1, m: month, d: Math.min(day, daysInMonth(today.y + 1, month)) };
}

function parseZhDate(t: string, today: CivilDate): CivilDate | undefined {
  let m: RegExpMatchArray | null;
  if ((m = t.match(/(\d{1,2})月(\d{1,2})[号日]?/))) return monthDay(today, Number(m[1]), Number(m[2]));
  if ((m = t.match(/下(?:个)?月(\d{1,2})[号日]/))) return monthOffset(today, 1, Number(m[1]));
  if (/下(?:个)?月[底末]/.test(t)) return monthOffset(today, 1, 'last');
  if (/下(?:个)?月[初头]|下(?:个)?月/.test(t)) return monthOffset(today, 1, 1);
  if (/月[底末]/.test(t)) return monthOffset(today, 0, 'last');
  if (/月初/.test(t)) return monthOffset(today, 1, 1);
  if (/月中/.test(t)) return upcomingDayOfMonth(today, 15);
  if (/年底|年末/.test(t)) return { y: today.y, m: 12, d: 31 };
  if ((m = t.match(/下下(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])/))) return weekdayIn(today, 2, zhWeekday[m[1] ?? ''] ?? 1);
  if ((m = t.match(/下(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])/))) return weekdayIn(today, 1, zhWeekday[m[1] ?? ''] ?? 1);
  if ((m = t.match(/(?:这|本|这个)(?:周|星期|礼拜)([一二三四五六日天1-7])/))) return weekdayIn(today, 0, zhWeekday[m[1] ?? ''] ?? 1);
  if ((m = t.match(/(?:周|星期|礼拜)([一二三四五六日天1-7])/))) return upcomingWeekday(today, zhWeekday[m[1] ?? ''] ?? 1);
  if (/下(?:个)?(?:周|星期|礼拜)末/.test(t)) return weekdayIn(today, 1, 6);
  if (/周末/.test(t)) return isoWeekday(today) >= 6 ? today : weekdayIn(today, 0, 6);
  if (/下(?:个)?(?:周|星期|礼拜)/.test(t)) return weekdayIn(today, 1, 1);
  if (/大前天/.test(t)) return addDays(today, -3);
  if (/前天/.test(t)) return addDays(today, -2);
  if (/昨天|昨日|昨晚/.test(t)) return addDays(today, -1);
  if (/大后天/.test(t)) return addDays(today, 3);
  if (/后天/.test(t)) return addDays(today, 2);
  if (/明天|明儿|明日|明早|明晚/.test(t)) return addDays(today, 1);
  if (/今天|今儿|今日|今晚|今早/.test(t)) return today;
  if ((m = t.match(/(\d{1,3})天(?:后|之后|以后)|过(\d{1,3})天/))) return addDays(today, Number(m[1] ?? m[2]));
  if (/过几天|过些天|过段时间/.test(t)) return addDays(today, 3);
  if ((m = t.match(/(\d{1,2})[号日]/))) return upcomingDayOfMonth(today, Number(m[1]));
  return undefined;
}

function parseEnDate(t: string, today: CivilDate): CivilDate | undefined {
  let m: RegExpMatchArray | null;
  const monthNames = Object.keys(enMonth).join('|');
  const weekdays = Object.keys(enWeekday).join('|');
  if ((m = t.match(new RegExp(`\\b(${monthNames}) (?:the )?(\\d{1,2})(?:st|nd|rd|th)?\\b`)))) {
    return monthDay(today, enMonth[m[1] ?? ''] ?? 0, Number(m[2]));
  }
  if ((m = t.match(new RegExp(`\\b(?:the )?(\\d{1,2})(?:st|nd|rd|th)? of (${monthNames})\\b`)))) {
    return monthDay(today, enMonth[m[2] ?? ''] ?? 0, Number(m[1]));
  }
  if (/\bday after tomorrow\b/.test(t)) return addDays(today, 2);
  if (/\bday before yesterday\b/.test(t)) return addDays(today, -2);
  if (/\byesterday\b|\blast night\b/.test(t)) return addDays(today, -1);
  if (/\btomorrow\b/.test(t)) return addDays(today, 1);
  if (/\btoday\b|\btonight\b|\bthis (?:afternoon|evening|morning)\b/.test(t)) return today;
  if (/\bend of (?:the )?next month\b/.test(t)) return monthOffset(today, 1, 'last');
  if (/\bend of (?:the |this )?month\b|\bmonth end\b/.test(t)) return monthOffset(today, 0, 'last');
  if (/\b(?:beginning|start) of (?:the )?next month\b|\bnext month\b/.test(t)) return monthOffset(today, 1, 1);
  if (/\bend of (?:the |this )?week\b/.test(t)) return weekdayIn(today, 0, 5);
  if ((m = t.match(new RegExp(`\\bnext (${weekdays})\\b`)))) return weekdayIn(today, 1, enWeekday[m[1] ?? ''] ?? 1);
  if ((m = t.match(new RegExp(`\\bthis (${weekdays})\\b`)))) {
    const d = weekdayIn(today, 0, enWeekday[m[1] ?? ''] ?? 1);
    return compare(d, today) >= 0 ? d : upcomingWeekday(today, enWeekday[m[1] ?? ''] ?? 1);
  }
  if ((m = t.match(new RegExp(`\\b(${weekdays})\\b`)))) return upcomingWeekday(today, enWeekday[m[1] ?? ''] ?? 1);
  if (/\bnext weekend\b/.test(t)) return weekdayIn(today, 1, 6);
  if (/\b(?:this )?weekend\b/.test(t)) return isoWeekday(today) >= 6 ? today : weekdayIn(today, 0, 6);
  if (/\bnext week\b/.test(t)) return weekdayIn(today, 1, 1);
  if ((m = t.match(/\bin (\d{1,3}) days?\b|\b(\d{1,3}) days? from now\b/))) return addDays(today, Number(m[1] ?? m[2]));
  if (/\bin a couple (?:of )?days\b|\bcouple of days\b/.test(t)) return addDays(today, 2);
  if (/\bin a few days\b/.test(t)) return addDays(today, 3);
  if (/\bin a week\b/.test(t)) return addDays(today, 7);
  if ((m = t.match(/\b(?:on )?the (\d{1,2})(?:st|nd|rd|th)\b/))) return upcomingDayOfMonth(today, Number(m[1]));
  return undefined;
}

function hhmm(h: number, min: number): string | undefined {
  if (h < 0 || h > 24 || min < 0 || min > 59) return undefined;
  return `${String(h % 24).padStart(2, '0')}:${String(min).padStart(2, '0')}`;
}

function parseZhTime(t: string): string | undefined {
  const m = t.match(/(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)?(\d{1,2})(?:点|:|：)(半|一刻|三刻|(\d{1,2})分?)?/);
  if (m) {
    let h = Number(m[2]);
    const part = m[1] ?? '';
    const tail = m[3] ?? '';
    const min = tail === '半' ? 30 : tail === '一刻' ? 15 : tail === '三刻' ? 45 : Number(m[4] ?? 0);
    if (/下午|傍晚|晚上|夜里/.test(part) && h < 12) h += 12;
    if (part === '中午' && h < 6) h += 12;
    return hhmm(h, min);
  }
  if (/中午/.test(t)) return '12:00';
  if (/上午|早上|早晨/.test(t)) return '10:00';
  if (/下午/.test(t)) return '15:00';
  if (/晚上|傍晚/.test(t)) return '19:00';
  return undefined;
}

function parseEnTime(t: string): string | undefined {
  let m = t.match(/\b(\d{1,2})(?::(\d{2}))? ?(am|pm|a m|p m|o ?clock)\b/);
  if (!m) m = t.match(/\bat (\d{1,2})(?::(\d{2}))?\b(?! ?(?:days?|st|nd|rd|th))/);
  if (m) {
    let h = Number(m[1]);
    const min = Number(m[2] ?? 0);
    const suffix = (m[3] ?? '').replace(/\s/g, '');
    const afternoon = suffix === 'pm' || (suffix !== 'am' && /\b(?:afternoon|evening|tonight)\b/.test(t));
    if (afternoon && h < 12) h += 12;
    if (suffix === 'am' && h === 12) h = 0;
    return hhmm(h, min);
  }
  if (/\bnoon\b/.test(t)) return '12:00';
  if (/\bmorning\b/.test(t)) return '10:00';
  if (/\bafternoon\b/.test(t)) return '15:00';
  if (/\bevening\b|\btonight\b/.test(t)) return '19:00';
  return undefined;
}

/**
 * Relative and absolute dates and clock times in an utterance whose numbers are already Arabic digits.
 * "Now" and the time zone are inputs, so the same words always give the same date in tests.
 */
export function parseDateTime(arabicText: string, lang: 'zh' | 'en', now: Date, timeZone: string): DateTimeSlots {
  const today = civilToday(now, timeZone);
  const date = lang === 'zh' ? parseZhDate(arabicText, today) : parseEnDate(arabicText, today);
  const time = lang === 'zh' ? parseZhTime(arabicText) : parseEnTime(arabicText);
  const out: DateTimeSlots = {};
  if (date) out.date = iso(date);
  if (time) out.time = time;
  return out;
}

/** Today's date (YYYY-MM-DD) in a time zone. */
export function todayIn(now: Date, timeZone: string): string {
  return iso(civilToday(now, timeZone));
}

/** The date `days` after a YYYY-MM-DD date. */
export function addDaysIso(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return iso(addDays({ y: y ?? 1970, m: m ?? 1, d: d ?? 1 }, days));
}
