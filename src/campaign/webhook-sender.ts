import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { maskNumber, maskText, maskVariables } from '../core/index.ts';
import type { CallStore, CampaignRecord, CampaignStore, CampaignWebhook, WebhookDelivery } from '../store/index.ts';
import type { Clock } from './clock.ts';

/*
 * CRM webhook delivery from the store's outbox. The dialer and the campaign service queue a row in the same
 * transaction as the outcome or state change it reports; this sender claims due rows (a lease, so several nodes never
 * send one row at once), POSTs them signed, and records the result. Delivery is at-least-once: a sender that dies
 * between the receiver's 2xx and the store write leaves the row due again after its lease, and it is sent again with
 * the same idempotency key, which is how the receiver drops the repeat.
 */

export const SIGNATURE_HEADER = 'x-callpilot-signature';
export const TIMESTAMP_HEADER = 'x-callpilot-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** What the sender tells metrics about each try. */
export type WebhookTryResult = 'delivered' | 'retry' | 'dead';

export interface WebhookSenderOptions {
  store: CampaignStore;
  /** Turns of the attempt's call, sent as its transcript; without it no transcript is sent. */
  calls?: CallStore;
  clock: Clock;
  log: Logger;
  /** Tries before a delivery goes to the dead-letter state. */
  maxTries: number;
  /** Delay after the first failure; doubles with each further one (before jitter), up to `maxBackoffSec`. */
  backoffSec: number;
  maxBackoffSec?: number;
  timeoutSec: number;
  /** Mask phone numbers (contact number, slots, transcript) in what the CRM receives. */
  maskNumbers: boolean;
  /** How often an idle sender looks for due rows. */
  pollMs?: number;
  /** Rows claimed per round; they are sent concurrently. */
  batch?: number;
  /** In [0, 1): jitter source (tests pin it). */
  random?: () => number;
  /** HTTP client (tests may wrap it); the global fetch by default. */
  fetch?: typeof fetch;
  onTry?: (delivery: WebhookDelivery, result: WebhookTryResult) => void;
  /**
   * Destinations that are not campaigns, by the id their rows carry in place of a campaign id (the QA hit webhook
   * under `qa`). Such rows get the same signing, retries and dead letters.
   */
  channels?: ReadonlyMap<string, CampaignWebhook>;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the campaign's webhook secret. */
export function signWebhook(secret: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
  return `t=${timestampSec},v1=${mac}`;
}

/**
 * What a receiver does with the signature header: recompute the HMAC over the timestamp and the raw body, compare in
 * constant time, and refuse timestamps older or newer than `toleranceSec` (a captured request cannot be replayed later).
 */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string, nowSec: number, toleranceSec = 300): boolean {
  if (!header) return false;
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(signWebhook(secret, t, body).split('v1=')[1]!, 'hex');
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

/**
 * Delay before try `failures + 1`: `backoffSec * 2^(failures-1)` capped at `maxBackoffSec`, then "equal jitter" (half
 * fixed, half random) so deliveries that failed together (the CRM was down) do not all come back in the same second.
 */
export function webhookBackoffMs(failures: number, backoffSec: number, maxBackoffSec: number, random: () => number): number {
  const base = Math.min(maxBackoffSec, backoffSec * 2 ** Math.max(0, failures - 1)) * 1000;
  return Math.round(base / 2 + (base / 2) * random());
}

interface TranscriptTurn {
  seq: number;
  at: string;
  caller: string;
  bot?: string;
  /** The caller went on with turn `continues` after a pause: that turn's answer was taken back, this one's stands. */
  continues?: number;
}

/**
 * Masks the fields of a webhook payload that can hold a person's number: the contact number, slots, the note and the
 * transcript. Ids and ISO times are left alone (their digit runs would be starred by a blanket mask).
 */
export function maskWebhookPayload(payload: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...payload };
  if (typeof payload.number === 'string') masked.number = maskNumber(payload.number);
  if (payload.slots && typeof payload.slots === 'object') masked.slots = maskVariables(payload.slots as Record<string, string>);
  if (typeof payload.note === 'string') masked.note = maskText(payload.note);
  if (Array.isArray(payload.transcript)) {
    masked.transcript = (payload.transcript as TranscriptTurn[]).map((t) => ({ ...t, caller: maskText(t.caller), ...(t.bot !== undefined ? { bot: maskText(t.bot) } : {}) }));
  }
  return masked;
}

export class WebhookSender {
  private readonly o: WebhookSenderOptions;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(opts: WebhookSenderOptions) {
    this.o = opts;
  }

  private iso(ms: number = this.o.clock.now()): string {
    return new Date(ms).toISOString();
  }

  /** Sends due deliveries until stop(); rows left pending by a previous run (or a crash) are among them. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Asks an idle sender to look now (a replay, a new row) instead of at its next poll. */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    const pollMs = this.o.pollMs ?? 1000;
    while (this.running) {
      let sent = 0;
      try {
        sent = await this.deliverDue();
      } catch (err) {
        this.o.log.error({ err }, 'webhook round failed; retrying at the next poll');
      }
      if (sent > 0 || !this.running) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.o.clock.sleep(pollMs).then(resolve, resolve);
      });
      this.wake = undefined;
    }
  }

  /** One round: claims what is due and tries each once. Returns how many were tried. */
  async deliverDue(): Promise<number> {
    const now = this.o.clock.now();
    // The lease covers the request's timeout with room to write the result; a dead sender's rows come back after it.
    const leaseUntil = this.iso(now + this.o.timeoutSec * 1000 + 15_000);
    const due = await this.o.store.claimWebhooks(this.iso(now), leaseUntil, this.o.batch ?? 20);
    const campaigns = new Map<string, Promise<CampaignRecord | undefined>>();
    const campaignOf = (id: string): Promise<CampaignRecord | undefined> => {
      let p = campaigns.get(id);
      if (!p) campaigns.set(id, (p = this.o.store.getCampaign(id)));
      return p;
    };
    await Promise.all(
      due.map((d) =>
        this.deliver(d, campaignOf).catch((err: unknown) =>
          this.o.log.error({ err, webhookId: d.id, campaignId: d.campaignId }, 'recording a webhook try failed; the row is retried when its lease passes'),
        ),
      ),
    );
    return due.length;
  }

  private async deliver(d: WebhookDelivery, campaignOf: (id: string) => Promise<CampaignRecord | undefined>): Promise<void> {
    const log = this.o.log.child({ webhookId: d.id, campaignId: d.campaignId, event: d.event });
    const channel = this.o.channels?.get(d.campaignId);
    const campaign = channel ? undefined : await campaignOf(d.campaignId);
    const target = channel ?? campaign?.webhook;
    if (!target) {
      // Nothing to send it to: dead-lettered at once so it can be replayed once the campaign has a webhook again.
      await this.o.store.webhookFailed(d.id, campaign ? 'the campaign has no webhook configured' : 'no campaign or configured channel has this id', undefined);
      this.o.onTry?.(d, 'dead');
      log.warn('webhook dead-lettered: nowhere to send it');
      return;
    }
    const body = JSON.stringify(await this.body(d));
    const timestampSec = Math.floor(this.o.clock.now() / 1000);
    let error: string | undefined;
    try {
      const res = await (this.o.fetch ?? fetch)(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'callpilot-webhooks',
          [SIGNATURE_HEADER]: signWebhook(target.secret, timestampSec, body),
          [TIMESTAMP_HEADER]: String(timestampSec),
          [IDEMPOTENCY_HEADER]: d.idempotencyKey,
          'x-callpilot-event': d.event,
          'x-callpilot-delivery': String(d.id),
          'x-callpilot-try': String(d.tries + 1),
        },
        body,
        // A redirect would carry a signed body somewhere nobody configured: it counts as a failure.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutSec * 1000),
      });
      // The body is not used; draining it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      error = e.name === 'TimeoutError' ? `timeout after ${this.o.timeoutSec} s` : `${e.cause?.code ?? e.name}: ${e.message}`;
    }
    if (error === undefined) {
      await this.o.store.webhookDelivered(d.id, this.iso());
      this.o.onTry?.(d, 'delivered');
      log.debug({ tries: d.tries + 1 }, 'webhook delivered');
      return;
    }
    const failures = d.tries + 1;
    if (failures >= this.o.maxTries) {
      await this.o.store.webhookFailed(d.id, error, undefined);
      this.o.onTry?.(d, 'dead');
      log.warn({ error, tries: failures }, 'webhook dead-lettered after its last try');
      return;
    }
    const delay = webhookBackoffMs(failures, this.o.backoffSec, this.o.maxBackoffSec ?? 3600, this.o.random ?? Math.random);
    await this.o.store.webhookFailed(d.id, error, this.iso(this.o.clock.now() + delay));
    this.o.onTry?.(d, 'retry');
    log.info({ error, tries: failures, retryInMs: delay }, 'webhook failed; will retry');
  }

  /** The queued payload, with the call's transcript for a finished attempt, numbers masked when configured. */
  private async body(d: WebhookDelivery): Promise<Record<string, unknown>> {
    const payload: Record<string, unknown> = { ...d.payload, idempotencyKey: d.idempotencyKey, deliveryId: d.id, queuedAt: d.createdAt };
    const callId = typeof payload.callId === 'string' ? payload.callId : undefined;
    if (d.event === 'attempt.finished' && callId && this.o.calls) {
      const turns = await this.o.calls.listTurns(callId);
      payload.transcript = turns.map((t): TranscriptTurn => {
        const turn: TranscriptTurn = { seq: t.seq, at: t.at, caller: t.callerText };
        if (t.botText !== undefined) turn.bot = t.botText;
        if (t.continuesSeq !== undefined) turn.continues = t.continuesSeq;
        return turn;
      });
    }
    return this.o.maskNumbers ? maskWebhookPayload(payload) : payload;
  }
}
