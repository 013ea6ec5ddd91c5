import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CampaignRecord, CampaignState, CampaignStats, CampaignStore, DncEntry } from '../store/index.ts';
import { abandonAccount, type AbandonAccount } from './abandon-rate.ts';
import type { Clock } from './clock.ts';
import { checkWindow, isValidTimeZone, type ComplianceProfile } from './compliance.ts';
import { campaignStateWebhook } from './dialer.ts';
import { normalizeNumber } from './numbers.ts';
import { maskNumber } from '../core/index.ts';

/** A request the service refuses, with the HTTP status it maps to. */
export class CampaignError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 = 400,
  ) {
    super(message);
    this.name = 'CampaignError';
  }
}

const retryDelays = z
  .object({
    busy: z.number().min(0).optional(),
    'no-answer': z.number().min(0).optional(),
    failed: z.number().min(0).optional(),
    unreachable: z.number().min(0).optional(),
    congestion: z.number().min(0).optional(),
    machine: z.number().min(0).optional(),
    callback_requested: z.number().min(0).optional(),
    interrupted: z.number().min(0).optional(),
  })
  .strict();

/** What an operator sends to create a campaign (API body, CLI file). */
export const campaignInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    flow: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'flow names are letters, digits, "_", "." and "-"'),
    lang: z.enum(['zh', 'en']).default('zh'),
    pbx: z.enum(['asterisk', 'freeswitch']).optional(),
    dialPattern: z
      .string()
      .min(3)
      .max(256)
      .refine((p) => /\{(number|e164|national)\}/.test(p), 'dialPattern needs {number}, {e164} or {national}')
      .refine((p) => !/[\s,{}]/.test(p.replace(/\{(number|e164|national)\}/g, '')), 'dialPattern may not contain spaces, commas or other braces'),
    trunk: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('default'),
    callerIds: z.array(z.string()).max(1000).default([]),
    maxConcurrent: z.number().int().min(1).max(10_000).default(10),
    cps: z.number().min(0.01).max(1000).default(5),
    priority: z.number().int().min(-100).max(100).default(0),
    profile: z.string().min(1).default('cn-collection'),
    timeZone: z.string().default('Asia/Shanghai'),
    expectedCallSec: z.number().int().min(0).max(3600).default(90),
    ringTimeoutSec: z.number().int().min(5).max(120).default(30),
    retry: z
      .object({ maxAttempts: z.number().int().min(1).max(20).default(3), delaysMin: retryDelays.default({ busy: 10, 'no-answer': 60, failed: 30, unreachable: 120, interrupted: 5, callback_requested: 60 }) })
      .prefault({}),
    webhook: z.object({ url: z.url(), secret: z.string().min(16, 'the webhook secret needs at least 16 characters') }).strict().optional(),
  })
  .strict();
export type CampaignInput = z.input<typeof campaignInputSchema>;

export interface CampaignWindow {
  /** The campaign's zone the window is computed in. */
  timeZone: string;
  open: boolean;
  /** Open: when the window closes (ISO). */
  closesAt?: string;
  /** Closed: when the next window opens that holds a whole expected call (ISO), if one does within two weeks. */
  nextOpen?: string;
  reason?: string;
}

/** A campaign's live statistics as the API, CLI and console show them. */
export interface CampaignStatsView extends CampaignStats {
  /** Connected share of ended attempts. */
  answerRate: number;
  /** Abandoned share of transfers to a human over the campaign's life. */
  abandonRate: number;
  /** The accounting period now: transfers, abandoned, the profile's limit and whether dialling is held for it. */
  abandon: AbandonAccount;
  window: CampaignWindow;
}

const TRANSITIONS: Record<'start' | 'pause' | 'resume' | 'stop', { from: CampaignState[]; to: CampaignState }> = {
  start: { from: ['draft'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  stop: { from: ['draft', 'running', 'paused'], to: 'stopped' },
};
export type CampaignAction = keyof typeof TRANSITIONS;

export interface CampaignServiceOptions {
  store: CampaignStore;
  clock: Clock;
  profiles: Record<string, ComplianceProfile>;
  /** Our own numbers: the only caller ids a campaign may show (never spoofed). */
  callerIdPool: string[];
  defaultCountry: string;
}

/** Campaign lifecycle and the DNC ledger, shared by the API, the CLI and the dialer's flow actions. */
export class CampaignService {
  readonly o: CampaignServiceOptions;

  constructor(opts: CampaignServiceOptions) {
    this.o = opts;
  }

  private iso(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  async create(input: unknown): Promise<CampaignRecord> {
    const parsed = campaignInputSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CampaignError(`invalid campaign: ${issue?.path.join('.') || 'body'}: ${issue?.message}`);
    }
    const c = parsed.data;
    if (!this.o.profiles[c.profile]) throw new CampaignError(`unknown compliance profile ${c.profile} (known: ${Object.keys(this.o.profiles).join(', ')})`);
    if (!isValidTimeZone(c.timeZone)) throw new CampaignError(`unknown time zone ${c.timeZone}`);
    const pool = new Set(this.o.callerIdPool.map((n) => this.normalizeOrSelf(n)));
    const callerIds = c.callerIds.map((n) => this.normalizeOrSelf(n));
    const foreign = callerIds.filter((n) => !pool.has(n));
    if (foreign.length > 0) throw new CampaignError(`caller ids not configured as ours (campaigns.callerIdPool): ${foreign.join(', ')}`);
    const now = this.iso();
    const record: CampaignRecord = { id: `cmp_${randomUUID().replace(/-/g, '').slice(0, 16)}`, ...c, callerIds, state: 'draft', createdAt: now, updatedAt: now };
    await this.o.store.createCampaign(record);
    return record;
  }

  private normalizeOrSelf(n: string): string {
    const r = normalizeNumber(n, this.o.defaultCountry);
    return r.ok ? r.e164 : n.trim();
  }

  async get(id: string): Promise<CampaignRecord> {
    const c = await this.o.store.getCampaign(id);
    if (!c) throw new CampaignError(`no campaign ${id}`, 404);
    return c;
  }

  /** start / pause / resume / stop: takes effect at the dialer's next tick (100 ms); live calls are never cut. */
  async act(id: string, action: CampaignAction): Promise<CampaignRecord> {
    const campaign = await this.get(id);
    const t = TRANSITIONS[action];
    const at = this.iso();
    const ok = await this.o.store.setState(id, t.from, t.to, at, campaignStateWebhook(campaign, t.to, at));
    if (!ok) {
      const now = await this.get(id);
      throw new CampaignError(`cannot ${action} a campaign that is ${now.state} (allowed from ${t.from.join(', ')})`, 409);
    }
    return this.get(id);
  }

  /**
   * Contacts were added to a campaign that had run dry: it dials again. `finished` means "nothing left to dial", not
   * closed (a stopped campaign is closed, and imports into it are refused), so appending the next list needs no
   * second action. Returns the campaign as it is now.
   */
  async reopenAfterImport(id: string): Promise<CampaignRecord> {
    const campaign = await this.get(id);
    if (campaign.state !== 'finished') return campaign;
    const at = this.iso();
    await this.o.store.setState(id, ['finished'], 'running', at, campaignStateWebhook(campaign, 'running', at));
    return this.get(id);
  }

  async stats(id: string): Promise<CampaignStatsView> {
    const campaign = await this.get(id);
    const s = await this.o.store.stats(id, this.iso());
    const ended = Object.values(s.byDisposition).reduce((a, b) => a + b, 0);
    return {
      ...s,
      window: this.window(campaign),
      // Of the attempts that ended: live answered calls have no denominator yet.
      answerRate: ended > 0 ? s.connectedEnded / ended : 0,
      abandonRate: s.transferred > 0 ? s.abandoned / s.transferred : 0,
      abandon: await abandonAccount(this.o.store, campaign, this.o.profiles[campaign.profile], this.o.clock.now()),
    };
  }

  /**
   * The calling window now, in the campaign's own time zone: open until when, or when it next opens. Contacts with a
   * zone of their own (column, number's region) follow their own windows; this is the campaign-wide view.
   */
  window(campaign: CampaignRecord): CampaignWindow {
    const profile = this.o.profiles[campaign.profile];
    if (!profile) return { timeZone: campaign.timeZone, open: false, reason: `unknown compliance profile ${campaign.profile}` };
    const v = checkWindow(profile, campaign.timeZone, this.o.clock.now(), campaign.expectedCallSec);
    if (v.open) return { timeZone: campaign.timeZone, open: true, closesAt: new Date(v.closesAt).toISOString() };
    const w: CampaignWindow = { timeZone: campaign.timeZone, open: false, reason: v.reason };
    if (v.nextOpen !== undefined) w.nextOpen = new Date(v.nextOpen).toISOString();
    return w;
  }

  /** Adds numbers to the global or a campaign's DNC list; returns the entries stored. */
  async addDnc(input: { numbers: string[]; scope?: string; reason?: string; source?: DncEntry['source']; callId?: string; words?: string; expiresAt?: string }): Promise<{ added: DncEntry[]; invalid: string[] }> {
    const scope = input.scope ?? 'global';
    if (scope !== 'global') await this.get(scope);
    const added: DncEntry[] = [];
    const invalid: string[] = [];
    const at = this.iso();
    for (const raw of input.numbers) {
      const r = normalizeNumber(raw, this.o.defaultCountry);
      if (!r.ok) {
        invalid.push(raw);
        continue;
      }
      added.push({ number: r.e164, scope, reason: input.reason ?? 'do not call', source: input.source ?? 'api', callId: input.callId, words: input.words, addedAt: at, expiresAt: input.expiresAt });
    }
    await this.o.store.addDnc(added);
    return { added, invalid };
  }

  /**
   * A refusal heard in a call (a flow's `do_not_call` action): the number goes on the ledger with the call id and the
   * caller's words, globally or for the campaign that placed the call. Rejects when nothing could be recorded, so
   * the flow marks the refusal as not recorded instead of believing it is.
   */
  async recordRefusal(r: { callId: string; number: string; scope: 'global' | 'campaign'; campaignId?: string; reason: string; words: string }): Promise<DncEntry> {
    const scope = r.scope === 'campaign' ? r.campaignId : 'global';
    if (!scope) throw new CampaignError('a campaign-scoped refusal needs the campaign that placed the call');
    const { added } = await this.addDnc({ numbers: [numberOfDialString(r.number)], scope, reason: r.reason, source: 'call', callId: r.callId, words: r.words.slice(0, 500) });
    const entry = added[0];
    if (!entry) throw new CampaignError(`call ${r.callId}: no phone number in ${maskNumber(r.number)} to put on the do-not-call list`);
    return entry;
  }
}

/**
 * The number inside what a call knows as its far end: an E.164 contact number as is, or the last part of a dial
 * string (`PJSIP/13800000001@trunk`, `sofia/gateway/gw/13800000001`).
 */
export function numberOfDialString(raw: string): string {
  const tail = raw.slice(raw.lastIndexOf('/') + 1);
  const at = tail.indexOf('@');
  return (at >= 0 ? tail.slice(0, at) : tail).trim();
}
