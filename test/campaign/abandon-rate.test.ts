import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { abandonAllowance, abandonPeriod, CampaignMetrics } from '../../src/campaign/index.ts';
import { createMetrics } from '../../src/observability/index.ts';
import { log, runFor, world, type World } from './helpers.ts';

/*
 * us-tcpa abandon-rate accounting on the injected clock: transfers to a human and the ones that never reached one are
 * counted per successive 30-day period from the campaign's first attempt, shown in the stats and on /metrics, and
 * over the limit the dialer places no new call until the next period.
 */

const DAY = 86_400_000;
/** 10:00 in New York, a Wednesday. */
const NY_10 = Date.parse('2026-12-02T15:00:00Z');

test('periods are successive 30-day spans from the first attempt; the allowance tolerates one abandonment, then 3 %', () => {
  const first = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(abandonPeriod(first, first, 30), { start: first, end: first + 30 * DAY });
  assert.equal(abandonPeriod(first, first + 30 * DAY - 1, 30).start, first);
  assert.equal(abandonPeriod(first, first + 30 * DAY, 30).start, first + 30 * DAY, 'day 31 starts the second period');
  assert.equal(abandonPeriod(first, first + 95 * DAY, 30), { start: first + 90 * DAY, end: first + 120 * DAY });
  assert.equal([0, 1, 34, 66, 67, 100, 101, 134].map((t) => abandonAllowance(0.03, t)), [1, 1, 1, 1, 2, 3, 3, 4]);
  assert.is(abandonAllowance(0, 500), 0, 'a zero limit allows none');
});

async function usCampaign(w: World, contacts: number) {
  await w.dialer.reconcile();
  const c = await w.service.create({
    name: 'us',
    flow: 'demo',
    profile: 'us-tcpa',
    timeZone: 'America/New_York',
    dialPattern: 'PJSIP/{e164}@us',
    cps: 1,
    maxConcurrent: 1,
    expectedCallSec: 60,
    retry: { maxAttempts: 1 },
  });
  const numbers = Array.from({ length: contacts }, (_, i) => ({ number: `+1212555${String(1000 + i)}`, consent: true, variables: {} }));
  await w.store.campaigns.addContacts(c.id, numbers, new Date(w.clock.now()).toISOString());
  await w.service.act(c.id, 'start');
  return c;
}

test('us-tcpa: the second abandoned transfer in a period holds dialling; stats and /metrics show it; the next period dials again', async () => {
  const w = world({ start: NY_10 });
  // Calls 0 and 1: transferred, the caller hangs up while the agent rings; then transfers that reach an agent.
  w.placer.behaviour = (_req, n) => ({ disposition: n === 0 ? 'abandoned' : n === 1 ? 'transfer_failed' : 'transferred', answered: true, durationMs: 1000 });
  const c = await usCampaign(w, 50);
  const metrics = createMetrics({ defaultMetrics: false });
  new CampaignMetrics({ registry: metrics.registry, store: w.store.campaigns, log, clock: w.clock });

  await runFor(w, 10 * 60_000);
  const placedWhileHeld = w.placer.placed.length;
  // The hold is read every 5 s: at 1 CPS at most that many calls start between the second abandonment and the hold.
  assert.ok(placedWhileHeld >= 2 && placedWhileHeld <= 2 + 6, `dialling held after the second abandonment, got ${placedWhileHeld} calls in 10 min`);
  const stats = await w.service.stats(c.id);
  assert.equal([stats.abandon.abandoned, stats.abandon.held, stats.abandon.limit, stats.abandon.periodStart], [2, true, 0.03, new Date(NY_10).toISOString()]);
  assert.is(stats.abandon.transferred, placedWhileHeld);
  assert.is(stats.abandon.allowed, 1);
  assert.is(stats.abandon.periodEnd, new Date(NY_10 + 30 * DAY).toISOString());
  assert.is(stats.abandon.rate, 2 / placedWhileHeld);
  assert.equal([stats.abandoned, stats.transferred], [2, placedWhileHeld], 'the lifetime counts agree in the first period');
  const text = await metrics.registry.metrics();
  assert.match(text, new RegExp(`callpilot_campaign_abandon_hold\\{campaign="${c.id}"\\} 1`));
  assert.match(text, new RegExp(`callpilot_campaign_abandon_period_abandoned\\{campaign="${c.id}"\\} 2`));
  assert.match(text, new RegExp(`callpilot_campaign_abandon_period_transfers\\{campaign="${c.id}"\\} ${placedWhileHeld}`));

  // An hour later still nothing: the rate only falls with new transfers, which the hold prevents.
  await runFor(w, 60 * 60_000, 1000);
  assert.is(w.placer.placed.length, placedWhileHeld);

  // The next 30-day period starts from zero: dialling resumes (10:00 New York again, inside the window).
  await w.clock.advance(NY_10 + 30 * DAY - w.clock.now());
  await runFor(w, 20_000);
  assert.ok(w.placer.placed.length > placedWhileHeld + 10, `dialling resumed in the new period: ${w.placer.placed.length - placedWhileHeld} calls`);
  const next = await w.service.stats(c.id);
  assert.equal([next.abandon.periodStart, next.abandon.abandoned, next.abandon.held], [new Date(NY_10 + 30 * DAY).toISOString(), 0, false]);
  assert.is(next.abandoned, 2, 'the lifetime count keeps the first period');
});

test('us-tcpa: transfers that reach an agent never hold dialling, and one abandonment in a small period is tolerated', async () => {
  const w = world({ start: NY_10 });
  w.placer.behaviour = (_req, n) => ({ disposition: n === 3 ? 'abandoned' : 'transferred', answered: true, durationMs: 1000 });
  const c = await usCampaign(w, 30);
  await runFor(w, 5 * 60_000);
  assert.is(w.placer.placed.length, 30, 'every contact dialled');
  const stats = await w.service.stats(c.id);
  assert.equal([stats.abandon.transferred, stats.abandon.abandoned, stats.abandon.held], [30, 1, false]);
});

test('profiles without a limit count transfers but never hold', async () => {
  const w = world();
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'abandoned', answered: true, durationMs: 1000 });
  const c = await w.service.create({ name: 'cn', flow: 'demo', dialPattern: 'PJSIP/{national}@t', profile: 'cn-marketing', cps: 2, retry: { maxAttempts: 1 } });
  await w.store.campaigns.addContacts(c.id, Array.from({ length: 10 }, (_, i) => ({ number: `+8613800000${String(100 + i)}`, variables: {} })), new Date(w.clock.now()).toISOString());
  await w.service.act(c.id, 'start');
  await runFor(w, 30_000);
  assert.is(w.placer.placed.length, 10);
  const stats = await w.service.stats(c.id);
  assert.equal([stats.abandon.abandoned, stats.abandon.rate, stats.abandon.held, stats.abandon.limit], [10, 1, false, undefined]);
});

test.run();
