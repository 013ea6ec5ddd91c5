import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { settleRecoveredTransfer, TRANSFER_PENDING, TRANSFER_UNVERIFIED, type OutboundCallRequest, type PlaceCallHooks, type PlaceCallResult } from '../calls/index.ts';
import { maskNumber } from '../core/index.ts';
import type { LiveChannel, PbxAdapter } from '../pbx/index.ts';
import type {
  AttemptOutcome,
  AttemptRecord,
  CallStore,
  CampaignRecord,
  CampaignStore,
  ClaimRequest,
  ContactNext,
  ContactRecord,
  WebhookEnqueue,
} from '../store/index.ts';
import { abandonAccount } from './abandon-rate.ts';
import type { Clock } from './clock.ts';
import { checkWindow, localPeriods, type ComplianceProfile } from './compliance.ts';
import { renderDialString, zoneOfNumber } from './numbers.ts';
import { nextAttempt } from './retry.ts';
import { TokenBucket, trunkBurst } from './token-bucket.ts';
import { takeTurns, type TurnResult } from './turns.ts';

/** The one outbound path (OutboundCallService) as the dialer uses it. */
/** Call dispositions of a caller the bot handed to a human whose channel may still be up on the PBX. */
const HANDED_TO_HUMAN = new Set(['transferred', TRANSFER_UNVERIFIED]);

export interface CallPlacer {
  placeCall(req: OutboundCallRequest, hooks?: PlaceCallHooks): Promise<PlaceCallResult>;
}

export interface DialerOptions {
  store: CampaignStore;
  /** Call records, to learn the outcome of an attempt whose call ended while the process was down. */
  calls?: CallStore;
  placer: CallPlacer;
  adapters: PbxAdapter[];
  clock: Clock;
  /** Stable across restarts of the same node: its own leases are reconciled at once instead of after expiry. */
  nodeId: string;
  profiles: Record<string, ComplianceProfile>;
  /** Calls this node may still add now (server.maxCalls admission minus every call in use, the dialer's own included). */
  freeCalls: () => number;
  log: Logger;
  leaseMs?: number;
  heartbeatMs?: number;
  tickMs?: number;
  /**
   * How often a running node sweeps for attempts whose lease expired (a node died or lost the store for longer than
   * the lease) and reconciles them against the PBX. Default: the heartbeat interval.
   */
  sweepMs?: number;
  /**
   * Take each call's CPS token from the store's per-trunk budget, shared by every node dialling through the trunk
   * (several nodes on PostgreSQL). Off: this node's own bucket (one node).
   */
  sharedPacing?: boolean;
  /** What to do with a channel found live at restart: only `hangup` is built (re-adopting mid-dialog is not). */
  livePolicy?: 'hangup';
  /** Told about every attempt claimed and about to be dialled (metrics). */
  onAttemptStart?: (campaign: CampaignRecord, attempt: AttemptRecord) => void;
  /** Told when an attempt's call is answered (metrics). */
  onAttemptAnswer?: (campaign: CampaignRecord, attempt: AttemptRecord) => void;
  /** Told about every attempt that ends (metrics). */
  onAttemptEnd?: (campaign: CampaignRecord, attempt: AttemptRecord, outcome: AttemptOutcome) => void;
}

export interface ReconcileReport {
  /** Attempts taken over and settled. */
  checked: number;
  hungUp: number;
  fromCallRecord: number;
  unknown: number;
}

interface FoundChannel {
  adapter: PbxAdapter;
  channel: LiveChannel;
}

/** A running campaign's part in one scheduling pass. */
interface Lane {
  campaign: CampaignRecord;
  profile: ComplianceProfile;
  /** The trunk's calls per second (the lowest of the running campaigns sharing it). */
  rate: number;
  bucket: TokenBucket;
  /** Calls it may still start in this pass (its cap and the node's free capacity). */
  room: number;
  due: ContactRecord[];
  /** Index in `due` of the contact its next turn tries. */
  next: number;
  claimedFromBatch: number;
}

/** Call-progress kinds more precise than the telephony disposition they come with. */
const PRECISE_PROGRESS = new Set(['invalid_number', 'powered_off', 'suspended']);

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 10_000;
const DEFAULT_TICK_MS = 100;
/**
 * The longest a scheduling pass keeps taking turns (dialer clock). Lanes whose claims never run short (a high CPS
 * limited only by how fast the store claims) would otherwise keep one pass going: heartbeats, sweeps and the
 * campaigns' states are looked at between passes.
 */
const MAX_PASS_MS = 1000;
/** How often a campaign's abandon account is read again from the store. */
const ABANDON_CHECK_MS = 5000;

/**
 * Progressive dialer. Each tick, the running campaigns take turns by priority (takeTurns), one claim each per turn:
 * free capacity (node and campaign caps), the trunk's token bucket, then due contacts through compliance (role,
 * consent, window) and the claiming transaction (DNC, frequency caps, attempt row). Only after the attempt row is
 * committed is the call placed.
 */
export class CampaignDialer {
  private readonly o: DialerOptions;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly callerIdTurn = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private answeredInFlight = 0;
  private running = false;
  /** stop() was called: claims not yet dialled are handed back (tick() driven by hand, as tests do, is not stopped). */
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lastHeartbeat = 0;
  private lastSweep = 0;
  private reconciled = false;
  private keepingLeases: Promise<void> | undefined;
  /** Ends the pause between passes early: a call of this node ended, so a place is free now. */
  private wakeLoop: (() => void) | undefined;
  /** Attempts claimed but handed back undialled (drain, admission refused): for logs and tests. */
  handedBack = 0;
  /** Campaigns whose abandon rate is over their profile's limit (checked every few seconds). */
  private readonly abandonHold = new Map<string, { until: number; over: boolean }>();

  constructor(opts: DialerOptions) {
    this.o = opts;
  }

  get leaseMs(): number {
    return this.o.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Whether the start-up reconciliation with the PBX is through (nothing is dialled before). */
  get reconciledWithPbx(): boolean {
    return this.reconciled;
  }

  /** Attempts this node has in flight. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Reconciles with the PBX (retrying until it answers), then dials until stop(). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.loop = this.run().catch((err: unknown) => this.o.log.error({ err }, 'campaign dialer stopped on an error'));
  }

  /**
   * Stops claiming: an attempt claimed but not yet dialled is handed back (its contact is pending again for any
   * node); calls in flight continue to their end (await settled() for them) and their leases stay renewed meanwhile,
   * so no surviving node takes them for dead while this node drains.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    this.wakeLoop?.();
    await this.loop;
    this.keepingLeases ??= this.keepLeases()
      .catch((err: unknown) => this.o.log.error({ err }, 'renewing leases while draining failed'))
      .finally(() => {
        this.keepingLeases = undefined;
      });
  }

  /** Heartbeats the leases of attempts still in flight after stop(), until the last one ends. */
  private async keepLeases(): Promise<void> {
    const every = this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    while (this.stopped && this.inFlight.size > 0) {
      const now = this.o.clock.now();
      if (now - this.lastHeartbeat >= every) {
        try {
          await this.o.store.heartbeat(this.o.nodeId, this.iso(now + this.leaseMs));
          this.lastHeartbeat = now;
        } catch (err) {
          this.o.log.warn({ err: (err as Error).message }, 'lease heartbeat failed while draining');
        }
      }
      await Promise.race([this.o.clock.sleep(Math.min(every, 1000)), ...this.inFlight.values()]);
    }
  }

  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()]);
  }

  private async run(): Promise<void> {
    const tickMs = this.o.tickMs ?? DEFAULT_TICK_MS;
    while (this.running && !this.reconciled) {
      try {
        const report = await this.reconcile();
        this.o.log.info(report, 'campaign attempts reconciled with the PBX');
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'reconciliation with the PBX failed; no campaign dials until it succeeds');
        await this.o.clock.sleep(1000);
      }
    }
    const sweepMs = this.o.sweepMs ?? this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.lastSweep = this.o.clock.now();
    while (this.running) {
      try {
        await this.tick();
      } catch (err) {
        this.o.log.error({ err }, 'dialer tick failed');
      }
      // In the same loop as the ticks, never beside one: a claim is in `inFlight` before the sweep can see it.
      if (this.running && this.o.clock.now() - this.lastSweep >= sweepMs) {
        this.lastSweep = this.o.clock.now();
        await this.sweep();
      }
      // A place freed by a call's end is refilled at once, not a pause later: with calls ending every ~100 ms a
      // campaign at its cap lost ~1 % of its places to the pause (20 ms) between passes, ~3 % at 100 ms.
      await Promise.race([this.o.clock.sleep(tickMs), new Promise<void>((resolve) => (this.wakeLoop = resolve))]);
      this.wakeLoop = undefined;
    }
  }

  /**
   * The periodic part of reconciliation on a running node: attempts of other nodes whose lease expired (the node
   * died, or lost the store for longer than a lease) are checked against the PBX first and settled like at start.
   * Never throws: a PBX or store that cannot answer now is asked again at the next sweep.
   */
  async sweep(): Promise<ReconcileReport | undefined> {
    try {
      const report = await this.reconcile({ expiredOnly: true });
      if (report.checked > 0) this.o.log.info(report, 'expired campaign leases reconciled with the PBX');
      return report;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'sweeping expired campaign leases failed; retried at the next sweep');
      return undefined;
    }
  }

  private iso(ms = this.o.clock.now()): string {
    return new Date(ms).toISOString();
  }

  /**
   * Settles every in-flight attempt this node owns or whose lease expired (`expiredOnly`: only the expired ones),
   * before anything is dialled: the PBX is asked first, by the channel id stored with the claim (rows without one: by
   * the attempt id each channel carries); a channel still on the PBX is hung up (policy) and the attempt ends
   * `interrupted`; one whose call record ended gets that outcome; the rest become `unknown` and are never dialled
   * again automatically.
   */
  async reconcile(opts: { expiredOnly?: boolean } = {}): Promise<ReconcileReport> {
    const { store, clock } = this.o;
    const report: ReconcileReport = { checked: 0, hungUp: 0, fromCallRecord: 0, unknown: 0 };
    const candidates = (await store.attemptsToReconcile(this.o.nodeId, this.iso(), opts)).filter((a) => !this.inFlight.has(a.id));
    if (candidates.length === 0) {
      this.reconciled ||= !opts.expiredOnly;
      return report;
    }
    // The PBX before anything else: which attempts still have a channel. Asked before each lease is taken, so a
    // PBX that cannot answer leaves the lease as it was.
    for (const adapter of this.o.adapters) {
      if (!adapter.ready) throw new Error(`${adapter.kind} is not ready: ${adapter.notReadyReason ?? 'unknown'}`);
    }
    const listed = candidates.some((a) => !a.pbxCallId) ? await this.listChannelsByAttempt() : undefined;
    const now = clock.now();
    for (const attempt of candidates) {
      if (this.inFlight.has(attempt.id)) continue;
      const found = listed ? listed.get(attempt.id) : await this.channelOf(attempt);
      if (!(await store.takeOver(attempt.id, this.o.nodeId, this.iso(now), this.iso(now + this.leaseMs)))) continue;
      report.checked++;
      const campaign = await store.getCampaign(attempt.campaignId);
      if (!campaign) continue;
      const endedAt = this.iso();
      const call = attempt.callId && this.o.calls ? await this.o.calls.getCall(attempt.callId) : undefined;
      // The crash lost the transfer's verdict: what the PBX shows now settles it (the lease is ours, its node is gone).
      if (call?.disposition === TRANSFER_PENDING && this.o.calls) {
        // Asked by id: a channel found in the listing does not say whether it is bridged.
        const channel = found ? ((await found.adapter.findChannel?.(found.channel.pbxCallId)) ?? found.channel) : undefined;
        call.disposition = await settleRecoveredTransfer(this.o.calls, call, channel);
      }
      // A caller handed to a human keeps their channel (with the agent, or ringing one): never hung up by policy.
      if (found && !(call && HANDED_TO_HUMAN.has(call.disposition ?? ''))) {
        await found.adapter.hangupChannel?.(found.channel.pbxCallId, 16);
        report.hungUp++;
        await this.finish(campaign, attempt, {
          disposition: 'interrupted',
          endedAt,
          pbxCallId: found.channel.pbxCallId,
          answeredAt: attempt.answeredAt,
          note: `channel ${found.channel.state} found live after a restart; hung up by policy`,
        });
        continue;
      }
      if (call && call.status === 'ended' && call.disposition && call.disposition !== 'interrupted') {
        report.fromCallRecord++;
        await this.finish(campaign, attempt, {
          disposition: call.disposition,
          cause: call.hangupCause,
          answeredAt: call.answeredAt,
          endedAt: call.endedAt ?? endedAt,
          callId: call.id,
          note: 'outcome taken from the call record after a restart',
        });
        continue;
      }
      if (attempt.state === 'live' || call?.answeredAt) {
        // It was answered and cut by the crash: a known fate, retried by the `interrupted` rule.
        await this.finish(campaign, attempt, { disposition: 'interrupted', answeredAt: attempt.answeredAt ?? call?.answeredAt, endedAt, note: 'answered call cut by a restart' });
        continue;
      }
      report.unknown++;
      await this.finish(campaign, attempt, { disposition: 'unknown', endedAt, note: 'in flight at a crash, no channel on the PBX and no outcome stored' }, 'unknown');
    }
    this.reconciled ||= !opts.expiredOnly;
    return report;
  }

  /**
   * Every outbound channel on every PBX, by the attempt id it carries: for attempts claimed without a channel id
   * (an adapter that cannot choose one in advance). Costs one request per channel on the PBX.
   */
  private async listChannelsByAttempt(): Promise<Map<string, FoundChannel>> {
    const live = new Map<string, FoundChannel>();
    for (const adapter of this.o.adapters) {
      if (!adapter.listLiveCalls) throw new Error(`the ${adapter.kind} adapter cannot list live calls`);
      for (const channel of await adapter.listLiveCalls()) if (channel.attemptId) live.set(channel.attemptId, { adapter, channel });
    }
    return live;
  }

  /**
   * The attempt's own channel, asked of the PBX by the id stored with the claim before the originate was sent: found
   * even when the node died with the originate in flight, and one request per attempt instead of one per channel.
   */
  private async channelOf(attempt: AttemptRecord): Promise<FoundChannel | undefined> {
    if (!attempt.pbxCallId) return undefined;
    for (const adapter of this.o.adapters) {
      if (!adapter.findChannel) throw new Error(`the ${adapter.kind} adapter cannot look up a channel by id`);
      const channel = await adapter.findChannel(attempt.pbxCallId);
      // A channel with another attempt's id on it is not this attempt's (an id is never reused; this is a guard).
      if (channel && (!channel.attemptId || channel.attemptId === attempt.id)) return { adapter, channel };
    }
    return undefined;
  }

  /** The adapter a campaign dials through (the outbound service picks it by the same rule). */
  private adapterFor(campaign: CampaignRecord): PbxAdapter | undefined {
    return this.o.adapters.find((a) => !campaign.pbx || a.kind === campaign.pbx);
  }

  /** One scheduling pass; returns how many calls it started. */
  async tick(): Promise<number> {
    if (!this.reconciled) throw new Error('the dialer must reconcile with the PBX before dialing');
    const { store, clock } = this.o;
    const now = clock.now();
    if (now - this.lastHeartbeat >= (this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS)) {
      // Noted only once stored: a heartbeat lost to a store outage is retried at the next tick, not a period later.
      await store.heartbeat(this.o.nodeId, this.iso(now + this.leaseMs));
      this.lastHeartbeat = now;
    }
    const campaigns = await store.listCampaigns({ state: 'running' });
    let free = this.o.freeCalls();
    const trunkRate = new Map<string, number>();
    for (const c of campaigns) trunkRate.set(c.trunk, Math.min(trunkRate.get(c.trunk) ?? Infinity, c.cps));
    const lanes: Lane[] = [];
    for (const campaign of campaigns) {
      const lane = await this.openLane(campaign, free, trunkRate.get(campaign.trunk) ?? campaign.cps, now);
      if (lane) lanes.push(lane);
    }
    let started = 0;
    const passEnds = now + MAX_PASS_MS;
    await takeTurns(
      lanes,
      async (lane) => {
        const result = await this.claimNext(lane);
        if (result !== 'started') return result;
        free--;
        started++;
        return 'progress';
      },
      () => free > 0 && clock.now() < passEnds,
    );
    return started;
  }

  /** A running campaign's part in this pass, or undefined when it has nothing to claim now (finished if it is done). */
  private async openLane(campaign: CampaignRecord, free: number, rate: number, now: number): Promise<Lane | undefined> {
    const { store } = this.o;
    const profile = this.o.profiles[campaign.profile];
    if (!profile) {
      this.o.log.error({ campaignId: campaign.id, profile: campaign.profile }, 'unknown compliance profile; campaign paused');
      await store.setState(campaign.id, ['running'], 'paused', this.iso());
      return undefined;
    }
    const live = await store.liveCount(campaign.id);
    if (free <= 0) {
      if (live === 0) await this.finishIfDone(campaign);
      return undefined;
    }
    if (await this.overAbandonRate(campaign, profile, now)) return undefined;
    const lane: Lane = { campaign, profile, rate, bucket: this.bucket(campaign.trunk, rate, now), room: Math.min(free, campaign.maxConcurrent - live), due: [], next: 0, claimedFromBatch: 0 };
    if (lane.room <= 0) return undefined;
    await this.fetchDue(lane, now);
    if (lane.due.length === 0) {
      if (live === 0) await this.finishIfDone(campaign);
      return undefined;
    }
    return lane;
  }

  /** The next batch of the lane's due contacts: as many as its places and tokens allow now, twice (some are lost to other nodes). */
  private async fetchDue(lane: Lane, now: number): Promise<void> {
    const want = Math.max(1, Math.min(lane.room, Math.ceil(lane.bucket.available(now))));
    lane.due = await this.o.store.dueContacts(lane.campaign.id, this.iso(now), want * 2);
    lane.next = 0;
    lane.claimedFromBatch = 0;
  }

  /**
   * One turn of a lane: the next due contact through compliance and the claim. The clock is read for each claim, not
   * once per pass: a turn can come well after the pass began, and the tokens that came back meanwhile are usable.
   */
  private async claimNext(lane: Lane): Promise<'started' | TurnResult> {
    if (lane.room <= 0) return 'done';
    const now = this.o.clock.now();
    if (!lane.bucket.canTake(now)) return 'waiting';
    if (lane.next >= lane.due.length) {
      // A batch that gave no claim is not fetched again in this pass: its contacts are other nodes' or deferred.
      if (lane.claimedFromBatch === 0) return 'done';
      await this.fetchDue(lane, now);
      if (lane.due.length === 0) return 'done';
    }
    const { campaign, profile } = lane;
    const contact = lane.due[lane.next]!;
    if (!(await this.compliant(campaign, profile, contact, now))) {
      lane.next++;
      return 'progress';
    }
    // Across nodes the trunk's budget is the store's, taken in the claim itself: a claim lost to another node
    // spends no token, so the nodes together dial at the trunk's CPS, never above it.
    const pacing = this.o.sharedPacing ? { ratePerSec: lane.rate, burst: trunkBurst(lane.rate), nowMs: now } : undefined;
    const attempt = await this.claim(campaign, profile, contact, now, pacing);
    if (attempt === 'full') return 'done';
    if (attempt === 'paced') {
      // Other nodes spent the trunk's budget: this node asks again once a token can have come back (the same contact).
      lane.bucket.spend(now);
      return 'waiting';
    }
    lane.next++;
    if (!attempt) return 'progress';
    lane.bucket.take(now);
    lane.room--;
    lane.claimedFromBatch++;
    const p = this.dial(campaign, contact, attempt).finally(() => {
      this.inFlight.delete(attempt.id);
      this.wakeLoop?.();
    });
    this.inFlight.set(attempt.id, p);
    return 'started';
  }

  private bucket(trunk: string, cps: number, now: number): TokenBucket {
    let b = this.buckets.get(trunk);
    if (!b) {
      b = new TokenBucket(cps, now);
      this.buckets.set(trunk, b);
    } else b.setRate(cps, now);
    return b;
  }

  /** Role and window: a contact outside them is moved (window) or blocked (role) with a reason; consent is the claim's. */
  private async compliant(campaign: CampaignRecord, profile: ComplianceProfile, contact: ContactRecord, now: number): Promise<boolean> {
    const { store } = this.o;
    if (profile.allowedRoles && (!contact.role || !profile.allowedRoles.includes(contact.role))) {
      await store.deferContact(contact.id, { state: 'blocked' }, `role ${contact.role ?? '(none)'} not allowed by ${campaign.profile}`);
      return false;
    }
    const tz = this.zoneOf(campaign, contact);
    const verdict = checkWindow(profile, tz, now, campaign.expectedCallSec);
    if (!verdict.open) {
      const nextAt = verdict.nextOpen ?? now + 86_400_000;
      await store.deferContact(contact.id, { state: 'pending', nextAt: this.iso(nextAt) });
      return false;
    }
    return true;
  }

  private zoneOf(campaign: CampaignRecord, contact: ContactRecord): string {
    return contact.timeZone ?? zoneOfNumber(contact.number) ?? campaign.timeZone;
  }

  private async claim(
    campaign: CampaignRecord,
    profile: ComplianceProfile,
    contact: ContactRecord,
    now: number,
    pacing: ClaimRequest['pacing'],
  ): Promise<AttemptRecord | 'full' | 'paced' | undefined> {
    const periods = localPeriods(now, this.zoneOf(campaign, contact));
    const result = await this.o.store.claimAttempt({
      campaignId: campaign.id,
      contactId: contact.id,
      attemptId: newAttemptId(now),
      nodeId: this.o.nodeId,
      now: this.iso(now),
      leaseUntil: this.iso(now + this.leaseMs),
      trunk: campaign.trunk,
      callerId: this.nextCallerId(campaign),
      pbxCallId: this.adapterFor(campaign)?.newChannelId?.(),
      requireConsent: profile.requireConsent,
      pacing,
      caps: {
        dayStart: this.iso(periods.dayStart),
        weekStart: this.iso(periods.weekStart),
        nextDay: this.iso(periods.nextDay),
        maxAttemptsPerDay: profile.maxAttemptsPerNumberPerDay,
        maxAttemptsPerWeek: profile.maxAttemptsPerNumberPerWeek,
        maxConnectedPerDay: profile.maxConnectedPerNumberPerDay,
      },
    });
    if (result.ok) {
      this.o.onAttemptStart?.(campaign, result.attempt);
      return result.attempt;
    }
    if (result.reason === 'paced') return 'paced';
    // No place left, or the campaign was paused or stopped since the pass began: nothing more for it in this pass.
    if (result.reason === 'full' || result.reason === 'not-running') return 'full';
    if (result.reason === 'dnc' || result.reason === 'no-consent' || result.reason === 'cap') {
      this.o.log.info({ campaignId: campaign.id, contactId: contact.id, number: maskNumber(contact.number), reason: result.reason, detail: result.detail }, 'contact not dialled');
    }
    return undefined;
  }

  /** Caller ids rotate per trunk: consecutive calls on a trunk show different numbers of the pool. */
  private nextCallerId(campaign: CampaignRecord): string | undefined {
    if (campaign.callerIds.length === 0) return undefined;
    const turn = this.callerIdTurn.get(campaign.trunk) ?? 0;
    this.callerIdTurn.set(campaign.trunk, turn + 1);
    return campaign.callerIds[turn % campaign.callerIds.length];
  }

  private async dial(campaign: CampaignRecord, contact: ContactRecord, attempt: AttemptRecord): Promise<void> {
    const { store, log } = this.o;
    const alog = log.child({ campaignId: campaign.id, attemptId: attempt.id });
    let answered = false;
    if (this.stopped) {
      // Claimed in the tick that stop() ended: never dialled, so any node may take the contact now.
      await this.handBackAttempt(attempt, 'the dialer stopped before the originate', alog);
      return;
    }
    try {
      const placed = await this.o.placer.placeCall(
        {
          endpoint: renderDialString(campaign.dialPattern, contact.number),
          pbx: campaign.pbx as OutboundCallRequest['pbx'],
          callerId: attempt.callerId,
          timeoutSec: campaign.ringTimeoutSec,
          flow: campaign.flow,
          lang: campaign.lang,
          variables: { ...contact.variables, campaign_id: campaign.id, attempt_id: attempt.id, contact_number: contact.number },
          attemptId: attempt.id,
          channelId: attempt.pbxCallId,
        },
        {
          onAnswer: ({ pbxCallId, at }) => {
            answered = true;
            this.answeredInFlight++;
            this.o.onAttemptAnswer?.(campaign, attempt);
            store.markAttempt(attempt.id, { state: 'live', answeredAt: at, pbxCallId }).catch((err: unknown) => alog.warn({ err }, 'marking the attempt answered failed'));
          },
        },
      );
      if ('error' in placed) {
        if (placed.refused === 'admission' && (await this.handBackAttempt(attempt, placed.error, alog))) return;
        await this.finishDurably(campaign, attempt, { disposition: 'failed', endedAt: this.iso(), note: placed.error }, alog);
        return;
      }
      await store.markAttempt(attempt.id, { callId: placed.callId });
      const outcome = await placed.outcome;
      const endedAt = outcome.endedAt ?? this.iso();
      // A carrier announcement says more than the cause: 空号 / 停机 are final, 关机 is retried as unreachable.
      const progressKind = outcome.progress?.kind;
      const disposition = outcome.telephony !== 'answered' && progressKind && PRECISE_PROGRESS.has(progressKind) ? progressKind : outcome.disposition;
      const amd = outcome.amd?.kind;
      await this.finishDurably(
        campaign,
        attempt,
        {
          disposition,
          cause: outcome.cause,
          answeredAt: outcome.answeredAt,
          endedAt,
          durationSec: outcome.answeredAt ? Math.max(0, (Date.parse(endedAt) - Date.parse(outcome.answeredAt)) / 1000) : undefined,
          slots: Object.keys(outcome.slots).length > 0 ? outcome.slots : undefined,
          callId: outcome.callId,
          pbxCallId: outcome.pbxCallId,
          progress: amd ?? progressKind,
        },
        alog,
        'done',
        amd === 'machine' || amd === 'assistant' ? 'machine' : undefined,
      );
    } catch (err) {
      alog.error({ err }, 'attempt failed');
      await this.finish(campaign, attempt, { disposition: 'failed', endedAt: this.iso(), note: (err as Error).message }).catch((e: unknown) =>
        alog.error({ err: e }, 'storing the failed attempt failed'),
      );
    } finally {
      if (answered) this.answeredInFlight--;
    }
  }

  /** Deletes an undialled attempt and makes its contact pending again; false when it could not (then it is ended). */
  private async handBackAttempt(attempt: AttemptRecord, why: string, alog: Logger): Promise<boolean> {
    try {
      const ok = await this.o.store.handBack(attempt.id, this.o.nodeId);
      if (ok) {
        this.handedBack++;
        alog.info({ why }, 'attempt handed back undialled');
      }
      return ok;
    } catch (err) {
      // The row stays with this node's lease: reconciled (no channel, no outcome: `unknown`) at the next start.
      alog.warn({ err: (err as Error).message, why }, 'handing the attempt back failed');
      return false;
    }
  }

  /**
   * finish() retried while the store cannot take it (a database outage): the outcome is known here and must not
   * be lost. The attempt stays in flight meanwhile, so its lease keeps being renewed. Gives up only after
   * `leaseMs` x 20 (10 minutes by default); the attempt is then reconciled at the next start.
   */
  private async finishDurably(campaign: CampaignRecord, attempt: AttemptRecord, outcome: AttemptOutcome, alog: Logger, state: 'done' | 'unknown' = 'done', retryAs?: string): Promise<void> {
    const giveUpAt = this.o.clock.now() + this.leaseMs * 20;
    for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.finish(campaign, attempt, outcome, state, retryAs);
        return;
      } catch (err) {
        if (this.o.clock.now() + wait > giveUpAt) throw err;
        alog.warn({ err: (err as Error).message, retryInMs: wait }, 'storing the attempt outcome failed; retrying');
        await this.o.clock.sleep(wait);
      }
    }
  }

  /** Ends the attempt, schedules the contact's next attempt by the retry rules and queues the webhook, in one transaction. */
  private async finish(campaign: CampaignRecord, attempt: AttemptRecord, outcome: AttemptOutcome, state: 'done' | 'unknown' = 'done', retryAs?: string): Promise<void> {
    const now = this.o.clock.now();
    const next: ContactNext =
      state === 'unknown' ? { state: 'unknown' } : nextAttempt(campaign.retry, attempt.attemptNo, retryAs ?? outcome.disposition, now, outcome.slots);
    const webhook: WebhookEnqueue | undefined = campaign.webhook
      ? {
          campaignId: campaign.id,
          event: 'attempt.finished',
          idempotencyKey: `attempt:${attempt.id}`,
          payload: {
            event: 'attempt.finished',
            campaignId: campaign.id,
            attemptId: attempt.id,
            contactId: attempt.contactId,
            attemptNo: attempt.attemptNo,
            number: attempt.number,
            state,
            ...outcome,
            nextAttemptAt: next.state === 'pending' ? next.nextAt : undefined,
          },
        }
      : undefined;
    const changed = await this.o.store.finishAttempt(attempt.id, outcome, next, webhook, state);
    if (changed) this.o.onAttemptEnd?.(campaign, attempt, outcome);
  }

  private async finishIfDone(campaign: CampaignRecord): Promise<void> {
    const at = this.iso();
    const changed = await this.o.store.finishIfDrained(campaign.id, at, campaignStateWebhook(campaign, 'finished', at));
    if (changed) this.o.log.info({ campaignId: campaign.id }, 'campaign finished');
  }

  /** us-tcpa: no new call while the period's abandoned transfers are over the profile's allowance (checked every 5 s). */
  private async overAbandonRate(campaign: CampaignRecord, profile: ComplianceProfile, now: number): Promise<boolean> {
    if (profile.maxAbandonRate === undefined) return false;
    const cached = this.abandonHold.get(campaign.id);
    if (cached && cached.until > now) return cached.over;
    const account = await abandonAccount(this.o.store, campaign, profile, now);
    if (account.held && !cached?.over) {
      this.o.log.warn({ campaignId: campaign.id, abandoned: account.abandoned, transferred: account.transferred, allowed: account.allowed, periodEnd: account.periodEnd }, 'abandon rate over the profile limit: not dialing');
    }
    this.abandonHold.set(campaign.id, { until: now + ABANDON_CHECK_MS, over: account.held });
    return account.held;
  }
}

/** Time-ordered attempt ids (sortable, so listing by id is listing by time). */
export function newAttemptId(now: number): string {
  return `att_${now.toString(36).padStart(9, '0')}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** The claim time (ms) a `newAttemptId` id carries; undefined for anything else. */
export function attemptClaimedAt(id: string): number | undefined {
  const m = /^att_([0-9a-z]{9,})_[0-9a-f]{12}$/.exec(id);
  return m ? parseInt(m[1]!, 36) : undefined;
}

export function campaignStateWebhook(campaign: CampaignRecord, state: string, at: string): WebhookEnqueue | undefined {
  if (!campaign.webhook) return undefined;
  return {
    campaignId: campaign.id,
    event: 'campaign.state',
    // Made once and stored with the row: a pause and resume in the same millisecond are still two events.
    idempotencyKey: `campaign:${campaign.id}:${state}:${at}:${randomUUID().slice(0, 8)}`,
    payload: { event: 'campaign.state', campaignId: campaign.id, name: campaign.name, state, at },
  };
}
