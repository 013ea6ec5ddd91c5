import type { Logger } from 'pino';
import type { NewQaHit, QaSeverity, WebhookEnqueue } from '../store/index.ts';
import type { QaMonitor } from './qa-monitor.ts';

/**
 * The outbox id QA hit deliveries carry in place of a campaign id; the webhook sender sends them to `qa.webhookUrl`.
 * Campaign ids start with `cmp_`, so the two never meet.
 */
export const QA_WEBHOOK_CHANNEL = 'qa';
export const QA_HIT_EVENT = 'qa.hit';

const SEVERITY_RANK: Record<QaSeverity, number> = { info: 0, minor: 1, major: 2, critical: 3 };

export interface QaWebhookOptions {
  /** The CRM webhook outbox (the campaign store's): signed, retried with backoff, dead-lettered, replayable. */
  outbox: { enqueueWebhook(w: WebhookEnqueue, now: string): Promise<void> };
  /** Hits below this severity are not sent. */
  minSeverity: QaSeverity;
  log: Logger;
  now?: () => Date;
  /** Asks the sender to look at the outbox now, so a live hit does not wait for the next poll. */
  poke?: () => void;
}

/** The delivery of one hit: the stored hit's fields (its text is already masked), keyed so a repeat is dropped. */
export function qaHitDelivery(hit: NewQaHit): WebhookEnqueue {
  return {
    campaignId: QA_WEBHOOK_CHANNEL,
    event: QA_HIT_EVENT,
    idempotencyKey: `qa:${hit.callId}:${hit.ruleSet}/${hit.ruleId}:${hit.leg ?? 'call'}:${hit.atMs}:${hit.live ? 'live' : 'end'}`,
    payload: {
      event: QA_HIT_EVENT,
      callId: hit.callId,
      flow: hit.flow ?? null,
      ruleSet: hit.ruleSet,
      ruleId: hit.ruleId,
      ruleType: hit.ruleType,
      severity: hit.severity,
      score: hit.score,
      leg: hit.leg ?? null,
      text: hit.text,
      atMs: hit.atMs,
      endMs: hit.endMs ?? null,
      live: hit.live,
      at: hit.at,
      detail: hit.detail,
    },
  };
}

/**
 * Queues every hit of at least `minSeverity` for the CRM as it is found (live ones during the call), through the
 * same outbox as campaign webhooks; returns the unsubscribe function. A failed enqueue is logged with the hit.
 */
export function forwardQaHits(monitor: QaMonitor, o: QaWebhookOptions): () => void {
  const min = SEVERITY_RANK[o.minSeverity];
  const now = o.now ?? (() => new Date());
  return monitor.onHit((hit) => {
    if (SEVERITY_RANK[hit.severity] < min) return;
    const delivery = qaHitDelivery(hit);
    o.outbox.enqueueWebhook(delivery, now().toISOString()).then(
      () => o.poke?.(),
      (err: unknown) => o.log.error({ err, callId: hit.callId, rule: hit.ruleId }, 'queueing the QA webhook failed'),
    );
  });
}
