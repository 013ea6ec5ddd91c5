import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { complianceProfileSchema, BUILTIN_PROFILES, type ManualClock } from '../../src/campaign/index.ts';
import type { CampaignStore, ClaimRequest } from '../../src/store/index.ts';
import { numbers, rejects, runFor, world, WED_10_SHANGHAI } from './helpers.ts';

const base = {
  name: 't',
  flow: 'demo',
  dialPattern: 'PJSIP/{national}@trunk',
  profile: 'cn-collection',
  expectedCallSec: 60,
};

async function campaignWith(w: ReturnType<typeof world>, input: Record<string, unknown>, count: number, role: 'debtor' | 'related' | 'unrelated' = 'debtor') {
  const c = await w.service.create({ ...base, ...input });
  await w.store.campaigns.addContacts(
    c.id,
    numbers(count).map((n) => ({ number: n, role, variables: { name: '张三' } })),
    new Date(w.clock.now()).toISOString(),
  );
  return c;
}

test('pacing: calls per second on the trunk within 5 % over a simulated minute', async () => {
  const w = world();
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'busy', durationMs: 3000 });
  const c = await campaignWith(w, { cps: 10, maxConcurrent: 1000, retry: { maxAttempts: 1 } }, 2000);
  await w.service.act(c.id, 'start');
  await runFor(w, 60_000, 50);
  const n = w.placer.placed.length;
  assert.ok(Math.abs(n - 600) <= 30, `expected 600±30 calls in 60 s at 10 CPS, got ${n}`);
  // No second had more than its share plus the burst.
  const perSecond = new Map<number, number>();
  for (const p of w.placer.placed) perSecond.set(Math.floor((p.at - WED_10_SHANGHAI) / 1000), (perSecond.get(Math.floor((p.at - WED_10_SHANGHAI) / 1000)) ?? 0) + 1);
  assert.ok(Math.max(...perSecond.values()) <= 13, `burst too large: ${Math.max(...perSecond.values())}`);
});

test('concurrency: never more live calls than the campaign cap, and the cap is used', async () => {
  const w = world();
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'completed', answered: true, durationMs: 10_000 });
  const c = await campaignWith(w, { cps: 100, maxConcurrent: 20, retry: { maxAttempts: 1 } }, 500);
  await w.service.act(c.id, 'start');
  let samples = 0;
  let sum = 0;
  const end = w.clock.now() + 120_000;
  while (w.clock.now() < end) {
    await w.dialer.tick();
    await w.clock.advance(100);
    if (w.clock.now() - WED_10_SHANGHAI > 5000) {
      samples++;
      sum += w.placer.live;
    }
  }
  assert.ok(w.placer.maxLive <= 20, `max live ${w.placer.maxLive}`);
  const mean = sum / samples;
  assert.ok(mean >= 19, `mean live ${mean.toFixed(2)} should be within 5 % of 20`);
});

/** Every claim costs `ms` of the fake clock, as a claim transaction costs time on a busy database. */
const slowClaims =
  (ms: number) =>
  (store: CampaignStore, clock: ManualClock): CampaignStore =>
    new Proxy(store, {
      get(target, key, receiver) {
        if (key !== 'claimAttempt') return Reflect.get(target, key, receiver);
        return async (req: ClaimRequest) => {
          await clock.advance(ms);
          return target.claimAttempt(req);
        };
      },
    });

for (const sharedPacing of [false, true]) {
  test(`campaigns take turns: a campaign of short calls at a high CPS does not hold a paced one below its pace (claims take 30 ms; ${sharedPacing ? 'shared' : 'node'} pacing)`, async () => {
    const w = world({ dialerStore: slowClaims(30), sharedPacing });
    await w.dialer.reconcile();
    w.placer.behaviour = () => ({ disposition: 'busy', durationMs: 200 });
    // Created first, so listed first at equal priority; higher priority too: it goes first in every turn.
    const bulk = await campaignWith(w, { cps: 100, maxConcurrent: 50, trunk: 'bulk', priority: 10, retry: { maxAttempts: 1 } }, 3000);
    const paced = await campaignWith(w, { cps: 10, maxConcurrent: 100, trunk: 'paced', retry: { maxAttempts: 1 } }, 1000);
    await w.service.act(bulk.id, 'start');
    await w.service.act(paced.id, 'start');
    const t0 = w.clock.now();
    await runFor(w, 60_000, 20);
    const ofPaced = w.placer.placed.filter((p) => p.req.variables?.campaign_id === paced.id && p.at >= t0 + 10_000 && p.at < t0 + 60_000);
    const ofBulk = w.placer.placed.filter((p) => p.req.variables?.campaign_id === bulk.id);
    // 50 s at 10 calls/s: within 5 % below, and never more than the pace plus one burst above.
    assert.ok(ofPaced.length >= 475 && ofPaced.length <= 503, `${ofPaced.length} paced calls in 50 s at 10 CPS (the bulk campaign made ${ofBulk.length})`);
    assert.ok(ofBulk.length > 500, `the bulk campaign still dials between the paced claims: ${ofBulk.length}`);
  });
}

test('a pass ends after a second of claims, so heartbeats and sweeps are not held up by a campaign that always has more', async () => {
  const w = world({ dialerStore: slowClaims(30) });
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'busy', durationMs: 50 });
  const c = await campaignWith(w, { cps: 1000, maxConcurrent: 1000, retry: { maxAttempts: 1 } }, 500);
  await w.service.act(c.id, 'start');
  const t0 = w.clock.now();
  const started = await w.dialer.tick();
  const took = w.clock.now() - t0;
  // 30 ms a claim: the pass stops at its first turn after 1 s (34 claims), not after the 200 its bucket allows.
  assert.ok(took >= 1000 && took < 1100, `the pass took ${took} ms of the fake clock`);
  assert.is(started, Math.ceil(1000 / 30));
});

test('a place freed by a call\'s end is refilled at once, not after the pause between passes', async () => {
  const w = world({ tickMs: 60_000 });
  w.placer.behaviour = () => ({ disposition: 'busy', durationMs: 1000 });
  const c = await campaignWith(w, { cps: 100, maxConcurrent: 1, retry: { maxAttempts: 1 } }, 3);
  await w.service.act(c.id, 'start');
  const settle = async (placed: number) => {
    for (let i = 0; i < 200 && w.placer.placed.length < placed; i++) await new Promise((r) => setImmediate(r));
  };
  await w.dialer.start();
  await settle(1);
  assert.is(w.placer.placed.length, 1, 'the first pass dials the one place');
  // The call ends after 1 s of the fake clock; the next pass is a minute away, yet the place is taken again now.
  await w.clock.advance(1000);
  await settle(2);
  assert.is(w.placer.placed.length, 2, 'the freed place was refilled without waiting for the next pass');
  assert.is(w.placer.placed[1]!.at, w.placer.placed[0]!.at + 1000);
  await w.dialer.stop();
});

test('node capacity: the dialer fills only what the bot can carry', async () => {
  const inbound = 5; // calls already on the node
  let placer: { live: number } = { live: 0 };
  const w = world({ freeCalls: () => 8 - inbound - placer.live });
  placer = w.placer;
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'busy', durationMs: 60_000 });
  const c = await campaignWith(w, { cps: 100, maxConcurrent: 50, retry: { maxAttempts: 1 } }, 100);
  await w.service.act(c.id, 'start');
  await runFor(w, 5000);
  assert.is(w.placer.placed.length, 3);
});

test('windows: nothing before 08:00 or on an excluded date; a call that would end after 22:00 is not started', async () => {
  const profiles = {
    ...BUILTIN_PROFILES,
    'cn-collection': complianceProfileSchema.parse({ ...BUILTIN_PROFILES['cn-collection'], excludedDates: ['2026-12-03'] }),
  };
  // 07:00 Shanghai, Wednesday 2026-12-02
  const w = world({ start: Date.parse('2026-12-01T23:00:00Z'), profiles });
  w.service.o.profiles['cn-collection'] = profiles['cn-collection']!;
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'completed', answered: true, durationMs: 1000 });
  const c = await campaignWith(w, { cps: 50, maxConcurrent: 5, expectedCallSec: 300, retry: { maxAttempts: 1 } }, 3);
  await w.service.act(c.id, 'start');
  await runFor(w, 55 * 60_000, 1000); // until 07:55
  assert.is(w.placer.placed.length, 0, 'nothing before 08:00');
  await runFor(w, 10 * 60_000, 1000);
  assert.is(w.placer.placed.length, 3);
  const first = w.placer.placed[0]!.at;
  assert.ok(first >= Date.parse('2026-12-02T00:00:00Z'), 'first call at or after 08:00 local');

  // 21:57 with a 5-minute expected call: not started; the excluded 3rd is skipped; next is 4th 08:00.
  const late = world({ start: Date.parse('2026-12-02T13:57:00Z'), profiles });
  late.service.o.profiles['cn-collection'] = profiles['cn-collection']!;
  await late.dialer.reconcile();
  const c2 = await campaignWith(late, { cps: 50, maxConcurrent: 5, expectedCallSec: 300, retry: { maxAttempts: 1 } }, 1);
  await late.service.act(c2.id, 'start');
  await runFor(late, 60_000, 1000);
  assert.is(late.placer.placed.length, 0);
  const [contact] = await late.store.campaigns.listContacts(c2.id);
  assert.is(contact!.nextAt, '2026-12-04T00:00:00.000Z', 'next window skips the excluded date');
});

test('cn-collection: at most 6 attempts per number per local day across campaigns, the 7th waits for tomorrow', async () => {
  const w = world();
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'busy', durationMs: 1000 });
  const a = await campaignWith(w, { cps: 5, maxConcurrent: 5, retry: { maxAttempts: 10, delaysMin: { busy: 1 } } }, 1);
  const b = await campaignWith(w, { cps: 5, maxConcurrent: 5, retry: { maxAttempts: 10, delaysMin: { busy: 1 } } }, 1);
  await w.service.act(a.id, 'start');
  await w.service.act(b.id, 'start');
  await runFor(w, 60 * 60_000, 1000);
  assert.is(w.placer.placed.length, 6, 'six attempts for the one number over both campaigns');
  const contacts = [...(await w.store.campaigns.listContacts(a.id)), ...(await w.store.campaigns.listContacts(b.id))];
  const deferred = contacts.filter((c) => c.state === 'pending' && c.nextAt === '2026-12-02T16:00:00.000Z');
  assert.ok(deferred.length >= 1, 'the capped contact moves to local midnight');
});

test('retries by disposition: busy after its delay, callback at the named time then the rule delay, invalid numbers never', async () => {
  const w = world();
  await w.dialer.reconcile();
  const callbackAt = new Date(WED_10_SHANGHAI + 3 * 3600_000).toISOString();
  w.placer.behaviour = (req, n) => {
    const number = req.variables?.contact_number;
    if (number === '+8613800000000') return { disposition: n < 2 ? 'busy' : 'completed', answered: n >= 2, durationMs: 1000 };
    if (number === '+8613800000001') return { disposition: 'callback_requested', answered: true, durationMs: 1000, slots: { callback_at: callbackAt } };
    return { disposition: 'invalid_number', durationMs: 500 };
  };
  const c = await campaignWith(w, { cps: 5, maxConcurrent: 5, retry: { maxAttempts: 3, delaysMin: { busy: 10, callback_requested: 30 } } }, 3);
  await w.service.act(c.id, 'start');
  await runFor(w, 9 * 60_000, 1000);
  const busyCalls = () => w.placer.placed.filter((p) => p.req.variables?.contact_number === '+8613800000000');
  assert.is(busyCalls().length, 1);
  await runFor(w, 2 * 60_000, 1000);
  assert.is(busyCalls().length, 2, 'busy retried after 10 minutes');
  await runFor(w, 4 * 3600_000, 10_000);
  const cb = w.placer.placed.filter((p) => p.req.variables?.contact_number === '+8613800000001');
  assert.is(cb.length, 3, 'callback, then (named time passed) the rule delay, then max attempts');
  assert.ok(cb[1]!.at >= Date.parse(callbackAt) && cb[1]!.at < Date.parse(callbackAt) + 30_000, 'callback at the time the caller named');
  assert.ok(cb[2]!.at - cb[1]!.at >= 30 * 60_000 && cb[2]!.at - cb[1]!.at < 31 * 60_000, 'then after the rule delay');
  assert.is(w.placer.placed.filter((p) => p.req.variables?.contact_number === '+8613800000002').length, 1, 'invalid number never retried');
  const attempts = await w.store.campaigns.listAttempts(c.id, { limit: 100 });
  const nos = attempts.filter((a) => a.number === '+8613800000000').map((a) => a.attemptNo);
  assert.equal(nos, [1, 2], 'each retry is a new attempt row');
});

test('roles and consent: unrelated third parties never dialled in collection; us-tcpa needs consent', async () => {
  const w = world();
  await w.dialer.reconcile();
  const c = await campaignWith(w, { cps: 5, retry: { maxAttempts: 1 } }, 2, 'unrelated');
  await w.service.act(c.id, 'start');
  await runFor(w, 5000);
  assert.is(w.placer.placed.length, 0);
  const contacts = await w.store.campaigns.listContacts(c.id);
  assert.ok(contacts.every((x) => x.state === 'blocked'));

  // us-tcpa at 10:00 New York
  const us = world({ start: Date.parse('2026-12-02T15:00:00Z') });
  await us.dialer.reconcile();
  const u = await us.service.create({ ...base, profile: 'us-tcpa', timeZone: 'America/New_York', dialPattern: 'PJSIP/{e164}@us', retry: { maxAttempts: 1 } });
  await us.store.campaigns.addContacts(u.id, [
    { number: '+12125550123', consent: true, variables: {} },
    { number: '+12125550124', consent: false, variables: {} },
  ], new Date(us.clock.now()).toISOString());
  await us.service.act(u.id, 'start');
  await runFor(us, 5000);
  assert.equal(us.placer.placed.map((p) => p.req.endpoint), ['PJSIP/+12125550123@us']);
});

test('DNC: checked in the claiming transaction, global and per campaign, with expiry', async () => {
  const w = world();
  await w.dialer.reconcile();
  const c = await campaignWith(w, { cps: 50, retry: { maxAttempts: 1 } }, 4);
  const now = new Date(w.clock.now()).toISOString();
  await w.service.addDnc({ numbers: ['13800000000'], reason: 'complaint' });
  await w.service.addDnc({ numbers: ['13800000001'], scope: c.id });
  await w.service.addDnc({ numbers: ['13800000002'], expiresAt: now });
  await w.service.act(c.id, 'start');
  await runFor(w, 5000);
  assert.equal(w.placer.placed.map((p) => p.req.variables?.contact_number).sort(), ['+8613800000002', '+8613800000003'], JSON.stringify(await w.store.campaigns.listDnc()));
});

test('pause stops new dials at the next tick without cutting live calls; resume continues; finished when done', async () => {
  const w = world();
  await w.dialer.reconcile();
  w.placer.behaviour = () => ({ disposition: 'completed', answered: true, durationMs: 5000 });
  const c = await campaignWith(w, { cps: 2, maxConcurrent: 10, retry: { maxAttempts: 1 } }, 10);
  await w.service.act(c.id, 'start');
  await runFor(w, 2000);
  const before = w.placer.placed.length;
  assert.ok(before >= 3);
  await w.service.act(c.id, 'pause');
  await runFor(w, 10_000);
  assert.is(w.placer.placed.length, before, 'no dial while paused');
  assert.is(w.placer.live, 0, 'live calls ran to their end');
  const attempts = await w.store.campaigns.listAttempts(c.id);
  assert.ok(attempts.every((a) => a.state === 'done' && a.disposition === 'completed'));
  await w.service.act(c.id, 'resume');
  await runFor(w, 20_000);
  assert.is(w.placer.placed.length, 10);
  assert.is((await w.service.get(c.id)).state, 'finished');
  await rejects(() => w.service.act(c.id, 'resume'), /cannot resume a campaign that is finished/);
});

test('caller ids: only our own numbers, rotated per trunk', async () => {
  const w = world();
  await rejects(() => w.service.create({ ...base, callerIds: ['+8613912345678'] }), /not configured as ours/);
  await w.dialer.reconcile();
  const c = await campaignWith(w, { cps: 50, retry: { maxAttempts: 1 }, callerIds: ['010-6552 9988', '+861065529989'] }, 4);
  await w.service.act(c.id, 'start');
  await runFor(w, 3000);
  assert.equal(w.placer.placed.map((p) => p.req.callerId), ['+861065529988', '+861065529989', '+861065529988', '+861065529989']);
});

test.run();
