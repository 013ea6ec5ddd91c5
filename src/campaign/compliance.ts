import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
type Day = (typeof DAYS)[number];

const windowList = z.array(z.string().regex(HHMM, 'windows are "HH:MM-HH:MM" in the contact\'s local time'));

export const complianceProfileSchema = z
  .object({
    description: z.string().optional(),
    /** Calling windows per weekday (`mon`..`sun`), `default` for days not listed; local time of the contact. */
    windows: z
      .object({ default: windowList.optional(), mon: windowList.optional(), tue: windowList.optional(), wed: windowList.optional(), thu: windowList.optional(), fri: windowList.optional(), sat: windowList.optional(), sun: windowList.optional() })
      .strict(),
    /** Local dates (YYYY-MM-DD) with no calls at all: public holidays. */
    excludedDates: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)).default([]),
    /** Across all campaigns, per number: attempts (not connects) per local day / week, connected calls per day. */
    maxAttemptsPerNumberPerDay: z.number().int().min(1).optional(),
    maxAttemptsPerNumberPerWeek: z.number().int().min(1).optional(),
    maxConnectedPerNumberPerDay: z.number().int().min(1).optional(),
    /** Roles that may be dialled; a contact without a role is refused when this is set. */
    allowedRoles: z.array(z.enum(['debtor', 'related', 'unrelated'])).optional(),
    /** Only contacts whose consent flag is set are dialled. */
    requireConsent: z.boolean().default(false),
    /**
     * Abandoned share of transfers to a human the campaign must stay under (us-tcpa: 3 %), per successive period of
     * `abandonPeriodDays` from its first attempt; over it, no new call is placed (src/campaign/abandon-rate.ts).
     */
    maxAbandonRate: z.number().min(0).max(1).optional(),
    abandonPeriodDays: z.number().int().min(1).max(366).default(30),
  })
  .strict();

export type ComplianceProfile = z.infer<typeof complianceProfileSchema>;

/**
 * Shipped profiles (also in configs/compliance-profiles.yaml, which overrides these when present). They encode
 * common readings of the rules, not legal advice: each site checks them with its compliance officer.
 */
export const BUILTIN_PROFILES: Record<string, ComplianceProfile> = {
  'cn-collection': complianceProfileSchema.parse({
    description: 'Debt-collection reminders (China Banking Association collection guideline): 08:00-22:00 local, at most 6 attempts per number per day, never unrelated third parties',
    windows: { default: ['08:00-22:00'] },
    maxAttemptsPerNumberPerDay: 6,
    allowedRoles: ['debtor', 'related'],
  }),
  'cn-marketing': complianceProfileSchema.parse({
    description: 'Marketing calls: daytime windows, at most 1 connected call per day and 3 attempts per week per number',
    windows: { default: ['09:00-12:00', '13:30-20:00'] },
    maxConnectedPerNumberPerDay: 1,
    maxAttemptsPerNumberPerWeek: 3,
  }),
  'us-tcpa': complianceProfileSchema.parse({
    description: 'TCPA: 08:00-21:00 called party local time, prior express consent, abandoned transfers to humans at most 3 % per 30-day period',
    windows: { default: ['08:00-21:00'] },
    requireConsent: true,
    maxAbandonRate: 0.03,
  }),
};

/** Profiles from a YAML file (`name: {windows: ..., ...}`) over the built-in ones; a bad file fails loudly. */
export function loadComplianceProfiles(file: string | undefined): Record<string, ComplianceProfile> {
  const profiles = { ...BUILTIN_PROFILES };
  if (!file || !existsSync(file)) return profiles;
  const raw = parseYaml(readFileSync(file, 'utf8')) as unknown;
  const parsed = z.record(z.string().regex(/^[a-z0-9-]+$/), complianceProfileSchema).safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`compliance profiles ${file}: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return { ...profiles, ...parsed.data };
}

// ------------------------------------------------------------------------------------------------ local time

export interface LocalTime {
  date: string; // YYYY-MM-DD
  year: number;
  month: number;
  day: number;
  /** 0 = Monday .. 6 = Sunday */
  weekday: number;
  /** Minutes since local midnight. */
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

const WEEKDAY: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

export function localTime(ms: number, tz: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(ms)) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    year,
    month,
    day,
    weekday: WEEKDAY[parts.weekday ?? 'Mon'] ?? 0,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** The instant of a local wall-clock time (minute of the day may be 1440 = next midnight). */
export function zonedInstant(year: number, month: number, day: number, minute: number, tz: string): number {
  const guess = Date.UTC(year, month - 1, day, 0, minute);
  // Two passes settle DST edges: the offset at the guess, then at the corrected instant.
  let t = guess - offsetMs(guess, tz);
  t = guess - offsetMs(t, tz);
  return t;
}

function offsetMs(ms: number, tz: string): number {
  const floored = Math.floor(ms / 60_000) * 60_000;
  const l = localTime(floored, tz);
  return Date.UTC(l.year, l.month - 1, l.day, 0, l.minute) - floored;
}

function windowsFor(profile: ComplianceProfile, weekday: number): [number, number][] {
  const day: Day = DAYS[weekday] ?? 'mon';
  const list = profile.windows[day] ?? profile.windows.default ?? [];
  return list.map((w) => {
    const [a, b] = w.split('-') as [string, string];
    const m = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
    return [m(a), m(b)];
  });
}

export type WindowVerdict = { open: true; closesAt: number } | { open: false; nextOpen?: number; reason: string };

/**
 * May a call of `expectedSec` start at `now` for a contact in `tz`? Open only inside a window that still holds the
 * whole expected call; otherwise the next instant one opens (searching two weeks ahead).
 */
export function checkWindow(profile: ComplianceProfile, tz: string, now: number, expectedSec: number): WindowVerdict {
  const expectedMin = Math.ceil(expectedSec / 60);
  const l = localTime(now, tz);
  let reason = 'outside the calling window';
  if (profile.excludedDates.includes(l.date)) reason = `excluded date ${l.date}`;
  else {
    for (const [start, end] of windowsFor(profile, l.weekday)) {
      if (l.minute >= start && l.minute < end) {
        if (l.minute + expectedMin <= end) return { open: true, closesAt: zonedInstant(l.year, l.month, l.day, end, tz) };
        reason = 'the expected call would not end before the window closes';
      }
    }
  }
  for (let dayOffset = 0; dayOffset <= 14; dayOffset++) {
    const noon = zonedInstant(l.year, l.month, l.day, 12 * 60, tz) + dayOffset * 86_400_000;
    const d = localTime(noon, tz);
    if (profile.excludedDates.includes(d.date)) continue;
    for (const [start, end] of windowsFor(profile, d.weekday)) {
      if (end - start < expectedMin) continue;
      const at = zonedInstant(d.year, d.month, d.day, start, tz);
      if (at > now) return { open: false, nextOpen: at, reason };
    }
  }
  return { open: false, reason: `${reason}; no window in the next two weeks` };
}

/** Start of the local day and of the local week (Monday) of `now`, and the next local midnight. */
export function localPeriods(now: number, tz: string): { dayStart: number; weekStart: number; nextDay: number } {
  const l = localTime(now, tz);
  const dayStart = zonedInstant(l.year, l.month, l.day, 0, tz);
  const nextDay = zonedInstant(l.year, l.month, l.day, 24 * 60, tz);
  const mondayNoon = localTime(zonedInstant(l.year, l.month, l.day, 12 * 60, tz) - l.weekday * 86_400_000, tz);
  const weekStart = zonedInstant(mondayNoon.year, mondayNoon.month, mondayNoon.day, 0, tz);
  return { dayStart, weekStart, nextDay };
}
