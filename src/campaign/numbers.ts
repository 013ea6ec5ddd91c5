import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type NormalizeResult = { ok: true; e164: string; country?: string; type?: string } | { ok: false; reason: string };

/**
 * A number as typed in a CRM export (`138 0013 8000`, `010-6552 9988`, `+1 212 555 0123`, `8613800138000`) to
 * E.164, with libphonenumber's full metadata (CN mobile prefixes, landline area codes). `defaultCountry` reads
 * national numbers.
 */
export function normalizeNumber(raw: string, defaultCountry: string): NormalizeResult {
  const text = raw.trim().replace(/[\u3000\s]+/g, ' ');
  if (text === '') return { ok: false, reason: 'empty number' };
  if (!/^[+\d\s().\-]+$/.test(text)) return { ok: false, reason: 'not a phone number (letters or symbols)' };
  let candidate = text;
  // 86138... without the plus is how many CN exports write international numbers.
  const digits = text.replace(/\D/g, '');
  if (!text.startsWith('+') && defaultCountry === 'CN' && digits.startsWith('86') && digits.length === 13) candidate = `+${digits}`;
  if (!text.startsWith('+') && digits.startsWith('00')) candidate = `+${digits.slice(2)}`;
  const parsed = parsePhoneNumberFromString(candidate, defaultCountry as CountryCode);
  if (!parsed) return { ok: false, reason: 'not a phone number' };
  if (!parsed.isValid()) return { ok: false, reason: `invalid number for ${parsed.country ?? defaultCountry}` };
  return { ok: true, e164: parsed.number, country: parsed.country, type: parsed.getType() };
}

/**
 * Countries with a single time zone: a number from one of them gives the contact's zone. Countries with several
 * (US, CA, RU, AU, BR, MX, ...) fall back to the campaign's zone unless the contact row names one.
 */
const COUNTRY_ZONE: Record<string, string> = {
  CN: 'Asia/Shanghai', HK: 'Asia/Hong_Kong', MO: 'Asia/Macau', TW: 'Asia/Taipei', SG: 'Asia/Singapore', MY: 'Asia/Kuala_Lumpur',
  JP: 'Asia/Tokyo', KR: 'Asia/Seoul', PH: 'Asia/Manila', TH: 'Asia/Bangkok', VN: 'Asia/Ho_Chi_Minh', IN: 'Asia/Kolkata',
  GB: 'Europe/London', IE: 'Europe/Dublin', DE: 'Europe/Berlin', FR: 'Europe/Paris', IT: 'Europe/Rome', ES: 'Europe/Madrid',
  NL: 'Europe/Amsterdam', BE: 'Europe/Brussels', CH: 'Europe/Zurich', AT: 'Europe/Vienna', SE: 'Europe/Stockholm', PL: 'Europe/Warsaw',
  AE: 'Asia/Dubai', SA: 'Asia/Riyadh', IL: 'Asia/Jerusalem', NZ: 'Pacific/Auckland', ZA: 'Africa/Johannesburg',
};

export function zoneOfNumber(e164: string): string | undefined {
  const parsed = parsePhoneNumberFromString(e164);
  return parsed?.country ? COUNTRY_ZONE[parsed.country] : undefined;
}

/**
 * The dial string for a number: `{e164}` (+8613800138000), `{number}` (8613800138000) or `{national}` (13800138000,
 * 01065529988: national format with the trunk prefix, what most CN trunks expect).
 */
export function renderDialString(pattern: string, e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const national = parsed ? parsed.formatNational().replace(/\D/g, '') : e164.replace(/\D/g, '');
  return pattern.replaceAll('{e164}', e164).replaceAll('{number}', e164.replace(/^\+/, '')).replaceAll('{national}', national);
}
