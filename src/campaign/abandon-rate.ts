import type { CampaignRecord, CampaignStore } from '../store/index.ts';
import type { ComplianceProfile } from './compliance.ts';

/*
 * Abandon-rate accounting for transfers to humans (the `us-tcpa` profile; any profile with `maxAbandonRate`).
 *
 * The TCPA rule (47 CFR 64.1200(a)(7)) measures abandoned calls against calls answered, per calling campaign, over
 * successive 30-day periods (a campaign longer than 30 days is measured separately per period or part of one). A bot
 * answers every answered call itself, so what can be abandoned is the hand-off: a call the bot transferred to a human
 * that never reached one. Counted as transferred: every attempt that ended `transferred`, `abandoned` (the caller hung
 * up while the agent rang) or `transfer_failed` (the PBX could not reach an agent and hung the caller up). Counted as
 * abandoned: the last two, since in both the caller who asked for a person never got one.
 *
 * Enforcement: while the current period's abandoned count is over what the limit allows, the dialer places no new
 * call for the campaign (calls already live go on). What the limit allows is `floor(limit x max(transferred, 1/limit))`:
 * a period's first abandonment is tolerated (otherwise one abandoned transfer would stop a fresh campaign for 30
 * days), the second needs 67 transfers at 3 %. A hold ends when live calls' transfers bring the count back under
 * the allowance, or when the next period starts.
 */

const DAY_MS = 86_400_000;

export interface AbandonAccount {
  /** The accounting period now (ISO); absent before the campaign's first attempt. */
  periodStart?: string;
  periodEnd?: string;
  /** Transfers to a human in the period (connected, abandoned or failed). */
  transferred: number;
  /** Of those, the ones that never reached a human. */
  abandoned: number;
  /** abandoned / transferred in the period (0 without transfers). */
  rate: number;
  /** The profile's limit; absent when the profile sets none. */
  limit?: number;
  /** Abandoned transfers the period may hold with its transfers so far. */
  allowed?: number;
  /** No new call is placed for the campaign while true. */
  held: boolean;
}

/** The successive period of `days` days, counted from the first attempt, that holds `nowMs`. */
export function abandonPeriod(firstMs: number, nowMs: number, days: number): { start: number; end: number } {
  const len = days * DAY_MS;
  const k = Math.max(0, Math.floor((nowMs - firstMs) / len));
  return { start: firstMs + k * len, end: firstMs + (k + 1) * len };
}

/** Abandoned transfers allowed under `limit` after `transferred` transfers: the first one is always tolerated. */
export function abandonAllowance(limit: number, transferred: number): number {
  if (limit <= 0) return 0;
  return Math.floor(limit * Math.max(transferred, Math.ceil(1 / limit)) + 1e-9);
}

/** The campaign's account for the period holding `nowMs`, from the store. */
export async function abandonAccount(store: CampaignStore, campaign: CampaignRecord, profile: ComplianceProfile | undefined, nowMs: number): Promise<AbandonAccount> {
  const first = await store.transferCounts(campaign.id);
  const limit = profile?.maxAbandonRate;
  if (first.firstAttemptAt === undefined) return { transferred: 0, abandoned: 0, rate: 0, held: false, ...(limit !== undefined ? { limit, allowed: abandonAllowance(limit, 0) } : {}) };
  const period = abandonPeriod(Date.parse(first.firstAttemptAt), nowMs, profile?.abandonPeriodDays ?? 30);
  const counts = await store.transferCounts(campaign.id, new Date(period.start).toISOString());
  const account: AbandonAccount = {
    periodStart: new Date(period.start).toISOString(),
    periodEnd: new Date(period.end).toISOString(),
    transferred: counts.transferred,
    abandoned: counts.abandoned,
    rate: counts.transferred > 0 ? counts.abandoned / counts.transferred : 0,
    held: false,
  };
  if (limit === undefined) return account;
  const allowed = abandonAllowance(limit, counts.transferred);
  return { ...account, limit, allowed, held: counts.abandoned > allowed };
}
