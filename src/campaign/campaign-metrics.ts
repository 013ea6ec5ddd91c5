import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AttemptOutcome, AttemptRecord, CampaignRecord, CampaignStore } from '../store/index.ts';
import { abandonAccount, type AbandonAccount } from './abandon-rate.ts';
import { systemClock, type Clock } from './clock.ts';
import { BUILTIN_PROFILES, type ComplianceProfile } from './compliance.ts';
import type { WebhookTryResult } from './webhook-sender.ts';

/*
 * `callpilot_campaign_*` on the process's registry. Counters (dialled, connected, outcomes, webhook tries) count what
 * THIS node did since it started, so `sum()` across nodes is right and a restart is an ordinary counter reset.
 * Gauges (live calls, attempts left, webhook outbox) are read from the store at scrape time and are the same on every
 * node of a cluster: aggregate them with `max()`, not `sum()`.
 *
 * Label cardinality is bounded: a campaign id is a label value for at most `maxCampaigns` campaigns per process (later
 * ones count under `_other`), dispositions outside a known set or past `maxDispositions` distinct values become
 * `other`, and webhook events are one of two names.
 */

const OTHER_CAMPAIGN = '_other';
const KNOWN_DISPOSITIONS = [
  'completed', 'busy', 'no-answer', 'failed', 'unreachable', 'congestion', 'machine', 'callback_requested', 'interrupted', 'unknown',
  'invalid_number', 'powered_off', 'suspended', 'transferred', 'abandoned', 'refused', 'promised_to_pay', 'hangup',
];
const WEBHOOK_EVENTS = new Set(['attempt.finished', 'campaign.state']);

export interface CampaignMetricsOptions {
  registry: Registry;
  store: CampaignStore;
  log: Logger;
  /** Campaign ids used as label values per process; more campaigns share `_other`. */
  maxCampaigns?: number;
  /** Distinct disposition label values (flows name their own end states); more become `other`. */
  maxDispositions?: number;
  prefix?: string;
  /** Decides which DNC entries are in force for `attempts_left` and the abandon period; the system clock by default. */
  clock?: Clock;
  /** Compliance profiles (abandon-rate limits); the built-in ones by default. */
  profiles?: Record<string, ComplianceProfile>;
}

export class CampaignMetrics {
  private readonly o: CampaignMetricsOptions;
  private readonly labelled = new Set<string>();
  private readonly dispositions = new Set<string>(KNOWN_DISPOSITIONS);
  private readonly dialled: Counter<'campaign'>;
  private readonly connected: Counter<'campaign'>;
  private readonly outcomes: Counter<'campaign' | 'disposition'>;
  private readonly webhookDelivered: Counter<'event'>;
  private readonly webhookFailures: Counter<'event' | 'result'>;

  constructor(opts: CampaignMetricsOptions) {
    this.o = opts;
    const p = `${opts.prefix ?? 'callpilot_'}campaign_`;
    const registers = [opts.registry];
    this.dialled = new Counter({ name: `${p}dialled_total`, help: 'Attempts claimed and dialled by this node', labelNames: ['campaign'] as const, registers });
    this.connected = new Counter({ name: `${p}connected_total`, help: 'Attempts answered, on this node', labelNames: ['campaign'] as const, registers });
    this.outcomes = new Counter({
      name: `${p}outcomes_total`,
      help: 'Attempts ended on this node, by disposition',
      labelNames: ['campaign', 'disposition'] as const,
      registers,
    });
    this.webhookDelivered = new Counter({ name: `${p}webhook_deliveries_total`, help: 'CRM webhooks delivered (2xx) by this node', labelNames: ['event'] as const, registers });
    this.webhookFailures = new Counter({
      name: `${p}webhook_failures_total`,
      help: 'Failed CRM webhook tries by this node; result retry (will be tried again) or dead (dead-lettered)',
      labelNames: ['event', 'result'] as const,
      registers,
    });
    const store = opts.store;
    const log = opts.log;
    const self = this;
    new Gauge({
      name: `${p}live_calls`,
      help: 'Attempts in flight (dialing or answered) per open campaign, from the store (cluster-wide)',
      labelNames: ['campaign'] as const,
      registers,
      async collect() {
        this.reset();
        for (const c of await self.openCampaigns()) self.addGauge(this, c.id, await store.liveCount(c.id).catch(() => 0));
      },
    });
    new Gauge({
      name: `${p}attempts_left`,
      help: 'Attempts the retry policy still allows per open campaign: per open contact not on a DNC list, max attempts minus those used (cluster-wide)',
      labelNames: ['campaign'] as const,
      registers,
      async collect() {
        this.reset();
        for (const c of await self.openCampaigns()) {
          const s = await store.stats(c.id, new Date(self.now()).toISOString()).catch(() => undefined);
          if (s) self.addGauge(this, c.id, s.attemptsLeft);
        }
      },
    });
    // Abandon-rate accounting (us-tcpa): the current period's figures, read once per scrape for all four gauges.
    const abandonGauge = (name: string, help: string, value: (a: AbandonAccount) => number | undefined): void => {
      new Gauge({
        name: `${p}${name}`,
        help,
        labelNames: ['campaign'] as const,
        registers,
        async collect() {
          this.reset();
          for (const [c, a] of await self.abandonAccounts()) {
            const v = value(a);
            if (v !== undefined) self.addGauge(this, c.id, v);
          }
        },
      });
    };
    abandonGauge('abandon_period_transfers', 'Transfers to a human in the current abandon-accounting period (30 days under us-tcpa) per open campaign', (a) => a.transferred);
    abandonGauge('abandon_period_abandoned', 'Of those, transfers that never reached a human (caller hung up while it rang, or the PBX could not reach one)', (a) => a.abandoned);
    abandonGauge('abandon_rate_ratio', 'Abandoned share of transfers in the current period per open campaign', (a) => a.rate);
    abandonGauge('abandon_hold', '1 while the campaign places no new call because its abandon rate is over its profile\'s limit; only campaigns whose profile sets one', (a) =>
      a.limit === undefined ? undefined : a.held ? 1 : 0,
    );
    new Gauge({
      name: `${p}webhook_dead_letters`,
      help: 'CRM webhook deliveries in the dead-letter state (replay them through the API)',
      registers,
      async collect() {
        const counts = await store.countWebhooks().catch((err: unknown) => {
          log.warn({ err }, 'webhook counts for /metrics failed');
          return undefined;
        });
        if (counts) this.set(counts.dead);
      },
    });
    new Gauge({
      name: `${p}webhook_pending`,
      help: 'CRM webhook deliveries waiting for their first or next try',
      registers,
      async collect() {
        const counts = await store.countWebhooks().catch(() => undefined);
        if (counts) this.set(counts.pending);
      },
    });
  }

  private now(): number {
    return (this.o.clock ?? systemClock).now();
  }

  private abandonRead: { at: number; accounts: Promise<[CampaignRecord, AbandonAccount][]> } | undefined;

  /** Each open campaign's abandon account, shared by the gauges of one scrape (read again after a second). */
  private abandonAccounts(): Promise<[CampaignRecord, AbandonAccount][]> {
    const now = this.now();
    if (this.abandonRead && now - this.abandonRead.at < 1000) return this.abandonRead.accounts;
    const profiles = this.o.profiles ?? BUILTIN_PROFILES;
    const accounts = (async () => {
      const out: [CampaignRecord, AbandonAccount][] = [];
      for (const c of await this.openCampaigns()) {
        const a = await abandonAccount(this.o.store, c, profiles[c.profile], now).catch((err: unknown) => {
          this.o.log.warn({ err, campaignId: c.id }, 'abandon account for /metrics failed');
          return undefined;
        });
        if (a) out.push([c, a]);
      }
      return out;
    })();
    this.abandonRead = { at: now, accounts };
    return accounts;
  }

  /** Running and paused campaigns, highest priority first, at most the label budget of them. */
  private async openCampaigns(): Promise<CampaignRecord[]> {
    try {
      const open = [...(await this.o.store.listCampaigns({ state: 'running' })), ...(await this.o.store.listCampaigns({ state: 'paused' }))];
      return open.sort((a, b) => b.priority - a.priority || a.createdAt.localeCompare(b.createdAt)).slice(0, this.o.maxCampaigns ?? 20);
    } catch (err) {
      this.o.log.warn({ err }, 'campaign list for /metrics failed');
      return [];
    }
  }

  /** Several campaigns may share `_other`: their values add up. */
  private addGauge(g: Gauge<'campaign'>, campaignId: string, value: number): void {
    g.inc({ campaign: this.campaignLabel(campaignId) }, value);
  }

  private campaignLabel(id: string): string {
    if (this.labelled.has(id)) return id;
    if (this.labelled.size >= (this.o.maxCampaigns ?? 20)) return OTHER_CAMPAIGN;
    this.labelled.add(id);
    return id;
  }

  private dispositionLabel(d: string): string {
    if (this.dispositions.has(d)) return d;
    if (!/^[a-z0-9_-]{1,40}$/.test(d) || this.dispositions.size >= KNOWN_DISPOSITIONS.length + (this.o.maxDispositions ?? 30)) return 'other';
    this.dispositions.add(d);
    return d;
  }

  attemptStarted = (campaign: CampaignRecord, _attempt: AttemptRecord): void => {
    this.dialled.inc({ campaign: this.campaignLabel(campaign.id) });
  };

  attemptAnswered = (campaign: CampaignRecord, _attempt: AttemptRecord): void => {
    this.connected.inc({ campaign: this.campaignLabel(campaign.id) });
  };

  attemptEnded = (campaign: CampaignRecord, _attempt: AttemptRecord, outcome: AttemptOutcome): void => {
    this.outcomes.inc({ campaign: this.campaignLabel(campaign.id), disposition: this.dispositionLabel(outcome.disposition) });
  };

  webhookTry = (delivery: { event: string }, result: WebhookTryResult): void => {
    const event = WEBHOOK_EVENTS.has(delivery.event) ? delivery.event : 'other';
    if (result === 'delivered') this.webhookDelivered.inc({ event });
    else this.webhookFailures.inc({ event, result });
  };
}
