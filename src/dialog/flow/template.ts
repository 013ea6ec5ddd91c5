import type { Lang } from '../types.ts';

export interface TemplateRef {
  /** Whole variable path as written: "amount", "slot.date", "input.text". */
  name: string;
  formatters: Array<{ name: string; arg?: string }>;
  /** Offset of the `{{` in the template text. */
  offset: number;
}

const templatePattern = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Formatters a template may use: `{{amount | money}}`, `{{phone | mask}}`, `{{due | date}}`. */
export const formatterNames = ['money', 'date', 'time', 'mask', 'last4', 'digits', 'default'] as const;
/** Namespaces filled at runtime rather than from call variables. */
export const runtimeNamespaces = ['slot', 'input'] as const;

/** The `{{...}}` references in one template string. */
export function parseTemplateRefs(text: string): TemplateRef[] {
  const refs: TemplateRef[] = [];
  for (const m of text.matchAll(templatePattern)) {
    const [head, ...pipes] = (m[1] ?? '').split('|').map((s) => s.trim());
    refs.push({
      name: head ?? '',
      offset: m.index ?? 0,
      formatters: pipes.map((p) => {
        const colon = p.indexOf(':');
        return colon < 0 ? { name: p } : { name: p.slice(0, colon).trim(), arg: p.slice(colon + 1).trim().replace(/^['"]|['"]$/g, '') };
      }),
    });
  }
  return refs;
}

function formatMoney(raw: string, lang: Lang, unit?: string): string {
  const value = Number(raw.replace(/[,¥￥$\s]/g, ''));
  if (!Number.isFinite(value)) return raw;
  const fixed = Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (lang === 'zh') return `${fixed}${unit ?? '元'}`;
  const [int, frac] = fixed.split('.');
  const grouped = (int ?? '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const amount = frac ? `${grouped}.${frac}` : grouped;
  return unit ? `${amount} ${unit}` : `$${amount}`;
}

const enMonths = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const enWeekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const zhWeekdays = ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'];

function formatDate(raw: string, lang: Lang, style?: string): string {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})/.exec(raw.trim());
  if (!m) return raw;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const weekday = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
  if (lang === 'zh') {
    const md = `${mo}月${d}日`;
    if (style === 'full') return `${y}年${md}`;
    if (style === 'weekday') return `${md}${zhWeekdays[weekday]}`;
    return md;
  }
  const md = `${enMonths[mo - 1]} ${d}`;
  if (style === 'full') return `${md}, ${y}`;
  if (style === 'weekday') return `${enWeekdays[weekday]}, ${md}`;
  return md;
}

function formatTime(raw: string, lang: Lang): string {
  const m = /^(\d{1,2}):(\d{2})/.exec(raw.trim());
  if (!m) return raw;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (lang === 'zh') {
    const part = h < 12 ? '上午' : h < 18 ? '下午' : '晚上';
    const h12 = h > 12 ? h - 12 : h;
    return `${part}${h12}点${min === 0 ? '' : min === 30 ? '半' : `${min}分`}`;
  }
  const suffix = h < 12 ? 'am' : 'pm';
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return min === 0 ? `${h12} ${suffix}` : `${h12}:${String(min).padStart(2, '0')} ${suffix}`;
}

/** 13812345678 -> 138****5678: enough for the caller to recognise, never the whole number. */
function mask(raw: string): string {
  const s = raw.replace(/\s/g, '');
  if (s.length >= 8) return `${s.slice(0, 3)}${'*'.repeat(s.length - 7)}${s.slice(-4)}`;
  if (s.length > 4) return `${'*'.repeat(s.length - 4)}${s.slice(-4)}`;
  return s;
}

function applyFormatter(value: string, f: { name: string; arg?: string }, lang: Lang): string {
  switch (f.name) {
    case 'money':
      return value === '' ? value : formatMoney(value, lang, f.arg);
    case 'date':
      return formatDate(value, lang, f.arg);
    case 'time':
      return formatTime(value, lang);
    case 'mask':
      return mask(value);
    case 'last4':
      return value.replace(/\s/g, '').slice(-4);
    case 'digits':
      // Spaced digits make TTS read a number digit by digit.
      return [...value.replace(/\s/g, '')].join(' ');
    case 'default':
      return value === '' ? (f.arg ?? '') : value;
    default:
      return value;
  }
}

/** Fills `{{name | formatter:arg}}` from `lookup`; unknown names render empty (the checker reports them). */
export function renderTemplate(text: string, lang: Lang, lookup: (name: string) => string | undefined): string {
  if (!text.includes('{{')) return text;
  return text.replace(templatePattern, (_all, inner: string) => {
    const [ref] = parseTemplateRefs(`{{${inner}}}`);
    if (!ref) return '';
    let value = lookup(ref.name) ?? '';
    for (const f of ref.formatters) value = applyFormatter(value, f, lang);
    return value;
  });
}
