import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CampaignMetrics, WebhookSender } from '../../src/campaign/index.ts';
import { createMetrics, type Metrics } from '../../src/observability/index.ts';
import type { CampaignRecord } from '../../src/store/index.ts';
import { startServer } from '../api/fixtures.ts';
import { bearer } from '../support/auth.ts';
import { log, numbers, runFor, world, type World } from './helpers.ts';
import { testLog } from '../support/run-log.ts';

/*
 * callpilot_campaign_* as Prometheus scrapes it: the dialer's counters through its hooks, the store-backed gauges at
 * scrape time, webhook tries from the sender, all read back from GET /metrics of a real HTTP server.
 */

/** `name{labels} value` lines of one metric family, as a map from the label text to the value. */
function family(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

async function scrape(w: World, metrics: Metrics): Promise<string> {
  const { server, url, token } = await startServer({ store: w.store, metrics });
  try {
    const res = await fetch(`${url}/metrics`, { headers: bearer(token) });
    assert.is(res.status, 200);
    return await res.text();
  } finally {
    await server.close();
  }
}

const base = { flow: 'demo', dialPattern: 'PJSIP/{national}@trunk', profile: 'cn-collection', expectedCallSec: 60, cps: 50, maxConcurrent: 50 };

test('dialled, connected, outcomes by disposition, live calls and attempts left, read from /metrics', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  let cm!: CampaignMetrics;
  const w = world({
    onAttemptStart: (c, a) => cm.attemptStarted(c, a),
    onAttemptAnswer: (c, a) => cm.attemptAnswered(c, a),
    onAttemptEnd: (c, a, o) => cm.attemptEnded(c, a, o),
  });
  cm = new CampaignMetrics({ registry: metrics.registry, store: w.store.campaigns, log, clock: w.clock });
  w.placer.reportAnswers = true;
  w.placer.behaviour = (_req, n) =>
    n % 3 === 0 ? { disposition: 'busy', durationMs: 2000 } : { disposition: n % 3 === 1 ? 'completed' : 'promised_to_pay', answered: true, durationMs: 20_000 };
  await w.dialer.reconcile();
  const a = await w.service.create({ ...base, name: 'a', retry: { maxAttempts: 1 } });
  const b = await w.service.create({ ...base, name: 'b', retry: { maxAttempts: 2 } });
  const at = new Date(w.clock.now()).toISOString();
  await w.store.campaigns.addContacts(a.id, numbers(6).map((number) => ({ number, role: 'debtor' as const, variables: {} })), at);
  await w.store.campaigns.addContacts(b.id, numbers(3, 13900000000).map((number) => ({ number, role: 'debtor' as const, variables: {} })), at);
  await w.service.act(a.id, 'start');
  await w.service.act(b.id, 'start');
  await w.service.act(b.id, 'pause');
  // Mid-campaign: the 4 answered calls of `a` are still live (20 s), the busy ones ended after 2 s.
  await runFor(w, 5000);
  let text = await scrape(w, metrics);
  assert.equal(family(text, 'callpilot_campaign_dialled_total'), new Map([[`{campaign="${a.id}"}`, 6]]));
  assert.equal(family(text, 'callpilot_campaign_connected_total'), new Map([[`{campaign="${a.id}"}`, 4]]));
  assert.equal(family(text, 'callpilot_campaign_live_calls'), new Map([[`{campaign="${a.id}"}`, 4], [`{campaign="${b.id}"}`, 0]]));
  assert.equal(
    family(text, 'callpilot_campaign_attempts_left'),
    new Map([[`{campaign="${a.id}"}`, 0], [`{campaign="${b.id}"}`, 6]]),
    'a: its 4 contacts dialing used their only attempt; b (paused): 3 fresh contacts x 2 attempts',
  );
  await runFor(w, 30_000);
  text = await scrape(w, metrics);
  assert.equal(
    family(text, 'callpilot_campaign_outcomes_total'),
    new Map([
      [`{campaign="${a.id}",disposition="busy"}`, 2],
      [`{campaign="${a.id}",disposition="completed"}`, 2],
      [`{campaign="${a.id}",disposition="promised_to_pay"}`, 2],
    ]),
  );
  assert.equal(family(text, 'callpilot_campaign_live_calls'), new Map([[`{campaign="${b.id}"}`, 0]]), 'a finished: no longer an open campaign');
  await w.store.close();
});

test('label cardinality stays bounded: campaigns past the budget count as _other, unknown or hostile dispositions as other', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const w = world();
  const cm = new CampaignMetrics({ registry: metrics.registry, store: w.store.campaigns, log, maxCampaigns: 2, maxDispositions: 5 });
  const campaign = (id: string) => ({ id }) as CampaignRecord;
  const attempt = {} as Parameters<CampaignMetrics['attemptStarted']>[1];
  for (let i = 0; i < 5; i++) cm.attemptStarted(campaign(`cmp_${i}`), attempt);
  for (let i = 0; i < 40; i++) cm.attemptEnded(campaign('cmp_0'), attempt, { disposition: `flow_end_${i}`, endedAt: '' });
  cm.attemptEnded(campaign('cmp_0'), attempt, { disposition: 'x"} evil{', endedAt: '' });
  cm.attemptEnded(campaign('cmp_0'), attempt, { disposition: 'busy', endedAt: '' });
  const text = await scrape(w, metrics);
  assert.equal(family(text, 'callpilot_campaign_dialled_total'), new Map([['{campaign="cmp_0"}', 1], ['{campaign="cmp_1"}', 1], ['{campaign="_other"}', 3]]));
  const outcomes = family(text, 'callpilot_campaign_outcomes_total');
  assert.is(outcomes.size, 5 + 1 + 1, 'five new flow dispositions, other, busy');
  assert.is(outcomes.get('{campaign="cmp_0",disposition="other"}'), 36);
  assert.is(outcomes.get('{campaign="cmp_0",disposition="busy"}'), 1);
  assert.not.match(text, /evil/);
  await w.store.close();
});

test('webhook deliveries, failures and dead letters, from the sender and the outbox', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const w = world();
  const cm = new CampaignMetrics({ registry: metrics.registry, store: w.store.campaigns, log });
  const c = await w.service.create({ ...base, name: 'hooked', webhook: { url: 'http://127.0.0.1:9/hook', secret: 'sixteen-chars-secret' } });
  const now = new Date(w.clock.now()).toISOString();
  for (const key of ['ok-1', 'ok-2', 'bad-1', 'bad-2']) await w.store.campaigns.enqueueWebhook({ campaignId: c.id, event: 'attempt.finished', idempotencyKey: key, payload: { key } }, now);
  let tries = 0;
  const sender = new WebhookSender({
    store: w.store.campaigns,
    clock: w.clock,
    log: testLog(),
    maxTries: 2,
    backoffSec: 1,
    timeoutSec: 5,
    maskNumbers: true,
    onTry: cm.webhookTry,
    // The receiver's answers (a real receiver is in webhook-sender.test.ts): ok-* succeed, bad-* always fail.
    fetch: async (_url, init) => {
      tries++;
      const key = (init?.headers as Record<string, string>)['idempotency-key'];
      return new Response('', { status: key?.startsWith('ok') ? 200 : 500 });
    },
  });
  await sender.deliverDue();
  await w.clock.advance(10_000);
  await sender.deliverDue();
  assert.is(tries, 6);
  const text = await scrape(w, metrics);
  assert.equal(family(text, 'callpilot_campaign_webhook_deliveries_total'), new Map([['{event="attempt.finished"}', 2]]));
  assert.equal(
    family(text, 'callpilot_campaign_webhook_failures_total'),
    new Map([
      ['{event="attempt.finished",result="retry"}', 2],
      ['{event="attempt.finished",result="dead"}', 2],
    ]),
  );
  assert.equal(family(text, 'callpilot_campaign_webhook_dead_letters'), new Map([['', 2]]));
  assert.equal(family(text, 'callpilot_campaign_webhook_pending'), new Map([['', 0]]));
  await w.store.close();
});

test.run();
