import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { trunkBurst } from '../../src/campaign/index.ts';
import type { CampaignRecord, ClaimRequest, Store, TrunkPace } from '../../src/store/index.ts';

/** A take from the trunk's shared bucket with the dialer's burst for that rate. */
const pace = (ratePerSec: number, nowMs: number): TrunkPace => ({ ratePerSec, burst: trunkBurst(ratePerSec), nowMs });

/** What every backend's campaign store must do (SQLite, PostgreSQL); `fresh()` gives an empty store. */
export interface CampaignStoreBackend {
  name: string;
  fresh(): Promise<Store>;
  /** Several independent connections to one fresh database (nodes), when the backend has more than one writer. */
  nodes?(n: number): Promise<Store[]>;
}

const NOW = '2026-03-02T02:00:00.000Z';

export function campaign(id: string, overrides: Partial<CampaignRecord> = {}): CampaignRecord {
  return {
    id,
    name: `campaign ${id}`,
    flow: 'credit_card_overdue',
    lang: 'zh',
    dialPattern: 'PJSIP/{national}@trunk',
    trunk: 'trunk-1',
    callerIds: ['+864008001000'],
    maxConcurrent: 10,
    cps: 5,
    priority: 0,
    profile: 'cn-collection',
    timeZone: 'Asia/Shanghai',
    expectedCallSec: 60,
    ringTimeoutSec: 30,
    retry: { maxAttempts: 3, delaysMin: { busy: 10 } },
    state: 'running',
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

export function claim(campaignId: string, contactId: number, attemptId: string, overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    campaignId,
    contactId,
    attemptId,
    nodeId: 'node-a',
    now: NOW,
    leaseUntil: '2026-03-02T02:01:00.000Z',
    trunk: 'trunk-1',
    caps: { dayStart: '2026-03-01T16:00:00.000Z', weekStart: '2026-02-28T16:00:00.000Z', maxAttemptsPerDay: 6, nextDay: '2026-03-03T00:00:00.000Z' },
    ...overrides,
  };
}

export function campaignStoreContract(suite: Test, backend: CampaignStoreBackend): void {
  const n = backend.name;

  suite(`${n}: contacts import once per number; a claim writes one attempt and moves the contact to dialing`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('c1'));
    const added = await c.addContacts('c1', [
      { number: '+8613800138000', variables: { name: '张三' }, rowNo: 2 },
      { number: '+8613800138001', variables: {}, rowNo: 3, role: 'debtor', consent: true },
      { number: '+8613800138000', variables: {}, rowNo: 4 },
    ], NOW);
    assert.equal(added, { inserted: 2, duplicates: [2] });
    const due = await c.dueContacts('c1', NOW, 10);
    assert.equal(due.map((x) => x.number), ['+8613800138000', '+8613800138001']);
    assert.is(due[1]?.consent, true);
    assert.equal(due[0]?.variables, { name: '张三' });
    const first = await c.claimAttempt(claim('c1', due[0]!.id, 'a1', { pbxCallId: 'callpilot-out-chosen-before-dial' }));
    assert.ok(first.ok);
    assert.is(first.ok && first.attempt.attemptNo, 1);
    assert.is((await c.getAttempt('a1'))?.pbxCallId, 'callpilot-out-chosen-before-dial', 'the channel id is committed with the claim');
    assert.is((await c.getContact(due[0]!.id))?.state, 'dialing');
    const again = await c.claimAttempt(claim('c1', due[0]!.id, 'a2'));
    assert.equal(again.ok ? 'ok' : again.reason, 'taken', 'a contact in flight is never claimed twice');
    assert.is(await c.liveCount('c1'), 1);
    await store.close();
  });

  suite(`${n}: DNC and frequency caps are checked in the claim, across campaigns`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('c1'));
    await c.createCampaign(campaign('c2'));
    await c.addContacts('c1', [{ number: '+8613900139000', variables: {} }, { number: '+8613900139001', variables: {} }], NOW);
    await c.addContacts('c2', [{ number: '+8613900139001', variables: {} }], NOW);
    await c.addDnc([{ number: '+8613900139000', scope: 'global', reason: '不要再打了', source: 'call', callId: 'call-9', words: '不要再打了', addedAt: NOW }]);
    const [blocked, capped] = await c.dueContacts('c1', NOW, 10);
    const dnc = await c.claimAttempt(claim('c1', blocked!.id, 'd1'));
    assert.equal(dnc.ok ? 'ok' : dnc.reason, 'dnc');
    assert.is((await c.getContact(blocked!.id))?.state, 'blocked');
    assert.is((await c.findDnc('+8613900139000', 'c2', NOW))?.callId, 'call-9', 'the ledger says which call heard the refusal');
    // One attempt allowed per day for this number: c1 takes it, c2 is capped and moved to the next day.
    const ok = await c.claimAttempt(claim('c1', capped!.id, 'k1', { caps: { ...claim('', 0, '').caps, maxAttemptsPerDay: 1 } }));
    assert.ok(ok.ok);
    const [other] = await c.dueContacts('c2', NOW, 10);
    const cap = await c.claimAttempt(claim('c2', other!.id, 'k2', { caps: { ...claim('', 0, '').caps, maxAttemptsPerDay: 1 } }));
    assert.equal(cap.ok ? 'ok' : cap.reason, 'cap');
    assert.is((await c.getContact(other!.id))?.nextAt, '2026-03-03T00:00:00.000Z');
    assert.is(await c.countAttempts('+8613900139001', '2026-03-01T16:00:00.000Z'), 1);
    await store.close();
  });

  suite(`${n}: a profile that requires consent: the claim blocks a contact without it and dials one with it`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('c1', { profile: 'us-tcpa' }));
    await c.addContacts('c1', [{ number: '+12125550111', variables: {} }, { number: '+12125550112', variables: {}, consent: true }], NOW);
    const [without, withConsent] = await c.dueContacts('c1', NOW, 10);
    const refused = await c.claimAttempt(claim('c1', without!.id, 'n1', { requireConsent: true }));
    assert.equal(refused.ok ? 'ok' : refused.reason, 'no-consent');
    assert.equal([(await c.getContact(without!.id))?.state, (await c.getContact(without!.id))?.lastDisposition], ['blocked', 'no_consent']);
    assert.is(await c.getAttempt('n1'), undefined, 'no attempt row for a contact never dialled');
    assert.ok((await c.claimAttempt(claim('c1', withConsent!.id, 'n2', { requireConsent: true }))).ok);
    await store.close();
  });

  suite(`${n}: finishing an attempt ends it once, moves the contact on and queues its webhook in one step`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('c1'));
    await c.addContacts('c1', [{ number: '+8613700137000', variables: {} }], NOW);
    const [contact] = await c.dueContacts('c1', NOW, 1);
    const claimed = await c.claimAttempt(claim('c1', contact!.id, 'f1'));
    assert.ok(claimed.ok);
    await c.markAttempt('f1', { callId: 'call-1', state: 'live', answeredAt: '2026-03-02T02:00:05.000Z' });
    const live = await c.stats('c1', NOW);
    assert.equal([live.connected, live.connectedEnded], [1, 0], 'a live answered call is connected but has not ended');
    const outcome = { disposition: 'promised_to_pay', cause: 16, endedAt: '2026-03-02T02:01:05.000Z', durationSec: 60, slots: { promised_date: '2026-03-05' } };
    const hook = { campaignId: 'c1', event: 'attempt.finished', idempotencyKey: 'attempt:f1', payload: { attemptId: 'f1', disposition: 'promised_to_pay' } };
    assert.ok(await c.finishAttempt('f1', outcome, { state: 'done' }, hook));
    assert.not.ok(await c.finishAttempt('f1', outcome, { state: 'done' }, hook), 'an attempt ends once');
    const attempt = await c.getAttempt('f1');
    assert.equal([attempt?.state, attempt?.disposition, attempt?.callId, attempt?.slots], ['done', 'promised_to_pay', 'call-1', { promised_date: '2026-03-05' }]);
    assert.is((await c.getContact(contact!.id))?.state, 'done');
    const due = await c.dueWebhooks('2026-03-02T02:02:00.000Z', 10);
    assert.equal(due.map((w) => w.idempotencyKey), ['attempt:f1'], 'one webhook, however often the outcome is reported');
    await c.webhookFailed(due[0]!.id, 'HTTP 500', undefined);
    assert.equal((await c.listWebhooks({ state: 'dead' })).map((w) => w.id), [due[0]!.id]);
    assert.ok(await c.replayWebhook(due[0]!.id, '2026-03-02T02:03:00.000Z'));
    const stats = await c.stats('c1', NOW);
    assert.equal([stats.attempts, stats.connected, stats.connectedEnded, stats.done, stats.byDisposition], [1, 1, 1, 1, { promised_to_pay: 1 }]);
    assert.is(stats.attemptsLeft, 0, 'a done contact has no attempts left');
    assert.is(stats.avgHandleSec, 60);
    await store.close();
  });

  suite(`${n}: attempts left is exact: max attempts minus those used per open contact, none for DNC numbers or ended contacts`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('c1', { retry: { maxAttempts: 3, delaysMin: { busy: 10 } } }));
    const numbers = ['+8613600136000', '+8613600136001', '+8613600136002', '+8613600136003', '+8613600136004'];
    await c.addContacts('c1', numbers.map((number) => ({ number, variables: {} })), NOW);
    assert.is((await c.stats('c1', NOW)).attemptsLeft, 15, 'five fresh contacts, three attempts each');
    const [a, b, d, e] = await c.dueContacts('c1', NOW, 10);
    // a: one busy attempt, retried later: two left.
    assert.ok((await c.claimAttempt(claim('c1', a!.id, 'x1'))).ok);
    assert.is((await c.stats('c1', NOW)).attemptsLeft, 14, 'the attempt in flight is used, two more may follow it');
    await c.finishAttempt('x1', { disposition: 'busy', endedAt: NOW }, { state: 'pending', nextAt: '2026-03-02T02:10:00.000Z' });
    // b: answered and done: none left.
    assert.ok((await c.claimAttempt(claim('c1', b!.id, 'x2'))).ok);
    await c.finishAttempt('x2', { disposition: 'completed', answeredAt: NOW, endedAt: NOW }, { state: 'done' });
    // d: in flight at a crash, fate unknown: never dialled again automatically.
    assert.ok((await c.claimAttempt(claim('c1', d!.id, 'x3'))).ok);
    await c.finishAttempt('x3', { disposition: 'unknown', endedAt: NOW }, { state: 'unknown' }, undefined, 'unknown');
    // e: on the global DNC list until tomorrow: its next claim is refused, so nothing is left for it until then.
    await c.addDnc([{ number: e!.number, scope: 'global', reason: 'stop calling me', source: 'api', addedAt: NOW, expiresAt: '2026-03-03T00:00:00.000Z' }]);
    // 2 (a) + 0 (b) + 0 (d) + 0 (e, on the list) + 3 (the fifth, untouched)
    assert.is((await c.stats('c1', NOW)).attemptsLeft, 5);
    assert.is((await c.stats('c1', '2026-03-04T00:00:00.000Z')).attemptsLeft, 8, 'an expired DNC entry blocks nothing');
    // Lowering max attempts below what a pending contact used still leaves its one due attempt.
    await c.updateCampaign('c1', { retry: { maxAttempts: 1, delaysMin: {} } }, NOW);
    assert.is((await c.stats('c1', NOW)).attemptsLeft, 2, 'a (due, one attempt) + the fifth (one)');
    await store.close();
  });

  suite(`${n}: transfer counts for abandon-rate accounting: transfers, the ones that never reached a human, since a time`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('t1'));
    assert.equal(await c.transferCounts('t1'), { transferred: 0, abandoned: 0 }, 'no attempt yet: no first attempt time');
    const numbers = ['+8613500135000', '+8613500135001', '+8613500135002', '+8613500135003', '+8613500135004'];
    await c.addContacts('t1', numbers.map((number) => ({ number, variables: {} })), NOW);
    const contacts = await c.dueContacts('t1', NOW, 10);
    const ends = ['transferred', 'abandoned', 'transfer_failed', 'completed', 'abandoned'];
    for (const [i, disposition] of ends.entries()) {
      const at = `2026-03-0${2 + i}T02:00:00.000Z`;
      assert.ok((await c.claimAttempt(claim('t1', contacts[i]!.id, `t${i}`, { now: at }))).ok);
      await c.finishAttempt(`t${i}`, { disposition, answeredAt: at, endedAt: at }, { state: 'done' });
    }
    assert.equal(await c.transferCounts('t1'), { firstAttemptAt: NOW, transferred: 4, abandoned: 3 });
    assert.equal(await c.transferCounts('t1', '2026-03-04T00:00:00.000Z'), { firstAttemptAt: NOW, transferred: 2, abandoned: 2 }, 'placed since the 4th');
    const stats = await c.stats('t1', NOW);
    assert.equal([stats.transferred, stats.abandoned], [4, 3]);
    await store.close();
  });

  suite(`${n}: a campaign finishes only from running, once no contact is pending or dialing, with its webhook`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('f1'));
    await c.addContacts('f1', [{ number: '+8613800138000', variables: {} }], NOW);
    const [contact] = await c.dueContacts('f1', NOW, 10);
    const hook = { campaignId: 'f1', event: 'campaign.finished', idempotencyKey: 'campaign:f1:finished', payload: { state: 'finished' } };
    assert.is(await c.finishIfDrained('f1', NOW, hook), false, 'a pending contact keeps it running');
    assert.ok((await c.claimAttempt(claim('f1', contact!.id, 'fa1'))).ok);
    assert.is(await c.finishIfDrained('f1', NOW, hook), false, 'a contact being dialled keeps it running');
    assert.is((await c.getCampaign('f1'))?.state, 'running');
    assert.equal(await c.countWebhooks(), { pending: 0, delivered: 0, dead: 0 }, 'no webhook for a finish that did not happen');
    await c.finishAttempt('fa1', { disposition: 'completed', endedAt: NOW }, { state: 'done' });
    assert.is(await c.finishIfDrained('f1', NOW, hook), true);
    assert.is((await c.getCampaign('f1'))?.state, 'finished');
    assert.equal((await c.claimWebhooks(NOW, '2026-03-02T02:01:00.000Z', 10)).map((w) => w.idempotencyKey), ['campaign:f1:finished']);
    assert.is(await c.finishIfDrained('f1', NOW, hook), false, 'finished once');
    await c.createCampaign(campaign('f2', { state: 'paused' }));
    assert.is(await c.finishIfDrained('f2', NOW), false, 'a paused campaign with nothing to dial stays paused');
    assert.is((await c.getCampaign('f2'))?.state, 'paused');
    assert.is(await c.finishIfDrained('nope', NOW), false, 'no such campaign');
    await store.close();
  });

  suite(`${n}: webhook outbox: a claim leases due rows, failures count tries, dead letters replay with tries reset`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('w1'));
    await c.createCampaign(campaign('w2'));
    const hook = (campaignId: string, key: string) => ({ campaignId, event: 'attempt.finished', idempotencyKey: key, payload: { key, nested: { n: 1 } } });
    await c.enqueueWebhook(hook('w1', 'k1'), '2026-03-02T02:00:00.000Z');
    await c.enqueueWebhook(hook('w1', 'k1'), '2026-03-02T02:00:01.000Z');
    await c.enqueueWebhook(hook('w2', 'k2'), '2026-03-02T02:00:02.000Z');
    await c.enqueueWebhook(hook('w2', 'k3'), '2026-03-02T02:10:00.000Z');
    assert.equal(await c.countWebhooks(), { pending: 3, delivered: 0, dead: 0 }, 'the same idempotency key is queued once');
    const claimed = await c.claimWebhooks('2026-03-02T02:01:00.000Z', '2026-03-02T02:01:30.000Z', 10);
    assert.equal(claimed.map((w) => w.idempotencyKey), ['k1', 'k2'], 'only due rows');
    assert.equal(claimed[0]!.payload, { key: 'k1', nested: { n: 1 } });
    assert.equal(await c.claimWebhooks('2026-03-02T02:01:10.000Z', '2026-03-02T02:01:40.000Z', 10), [], 'leased rows are not claimed again');
    await c.webhookFailed(claimed[0]!.id, 'HTTP 500', '2026-03-02T02:05:00.000Z');
    await c.webhookDelivered(claimed[1]!.id, '2026-03-02T02:01:01.000Z');
    // k2 delivered; a lease that passed does not bring a delivered row back.
    const again = await c.claimWebhooks('2026-03-02T02:06:00.000Z', '2026-03-02T02:06:30.000Z', 10);
    assert.equal(again.map((w) => [w.idempotencyKey, w.tries, w.lastError]), [['k1', 1, 'HTTP 500']]);
    await c.webhookFailed(again[0]!.id, 'timeout', undefined);
    assert.equal(await c.countWebhooks(), { pending: 1, delivered: 1, dead: 1 });
    assert.equal((await c.listWebhooks({ state: 'dead' })).map((w) => [w.idempotencyKey, w.tries, w.lastError]), [['k1', 2, 'timeout']]);
    assert.equal((await c.listWebhooks({ campaignId: 'w2' })).map((w) => w.idempotencyKey), ['k3', 'k2'], 'newest first, one campaign');
    assert.equal((await c.listWebhooks({ campaignId: 'w2', state: 'delivered' })).map((w) => w.idempotencyKey), ['k2']);
    assert.not.ok(await c.replayWebhook(claimed[1]!.id, '2026-03-02T02:07:00.000Z'), 'a delivered row is not replayed');
    assert.ok(await c.replayWebhook(again[0]!.id, '2026-03-02T02:07:00.000Z'));
    const replayed = await c.getWebhook(again[0]!.id);
    assert.equal([replayed?.state, replayed?.tries, replayed?.lastError, replayed?.nextAt], ['pending', 0, undefined, '2026-03-02T02:07:00.000Z']);
    assert.is(await c.getWebhook(999999), undefined);
    await store.close();
  });

  suite(`${n}: leases: a node's in-flight attempts are its own until the lease expires, then one survivor takes each over`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('c1'));
    await c.addContacts('c1', [{ number: '+8613600136000', variables: {} }], NOW);
    const [contact] = await c.dueContacts('c1', NOW, 1);
    assert.ok((await c.claimAttempt(claim('c1', contact!.id, 'l1', { nodeId: 'node-a', leaseUntil: '2026-03-02T02:00:30.000Z' }))).ok);
    assert.equal((await c.attemptsToReconcile('node-b', '2026-03-02T02:00:10.000Z')).map((a) => a.id), [], 'a live lease is not another node\'s');
    assert.is(await c.heartbeat('node-a', '2026-03-02T02:00:40.000Z'), 1);
    const later = '2026-03-02T02:01:00.000Z';
    assert.equal((await c.attemptsToReconcile('node-b', later)).map((a) => a.id), ['l1']);
    const takers = await Promise.all([c.takeOver('l1', 'node-b', later, '2026-03-02T02:02:00.000Z'), c.takeOver('l1', 'node-c', later, '2026-03-02T02:02:00.000Z')]);
    assert.equal(takers.filter(Boolean).length, 1, 'exactly one survivor takes the attempt over');
    await store.close();
  });

  suite(`${n}: the trunk's CPS budget: calls taken over 10 s stay within 5 % of the rate, with a small burst`, async () => {
    const stores = backend.nodes ? await backend.nodes(3) : [await backend.fresh()];
    let taken = 0;
    const start = Date.parse(NOW);
    // Every "node" asks for as many tokens as it can every 50 ms of store-side time, for 10 s at 5 calls/s.
    for (let t = 0; t <= 10_000; t += 50) {
      for (const s of stores) while (await s.campaigns.takeTrunkToken('trunk-1', pace(5, start + t))) taken++;
    }
    assert.ok(taken >= 50 * 0.95 && taken <= 51 * 1.05, `${taken} calls in 10 s at 5 calls/s`);
    assert.not.ok(await stores[0]!.campaigns.takeTrunkToken('trunk-1', pace(5, start + 10_000)), 'spent');
    assert.ok(await stores[0]!.campaigns.takeTrunkToken('trunk-2', pace(5, start + 10_000)), 'each trunk has its own budget');
    // The bucket holds what the caller's burst says, however long it idled: 3 at once after a minute at 1 call/s.
    const c0 = stores[0]!.campaigns;
    assert.ok(await c0.takeTrunkToken('trunk-3', { ratePerSec: 1, burst: 3, nowMs: start }));
    let burst = 0;
    while (await c0.takeTrunkToken('trunk-3', { ratePerSec: 1, burst: 3, nowMs: start + 60_000 })) burst++;
    assert.is(burst, 3, 'a burst of 3 after an idle minute');
    for (const s of stores) await s.close();
  });

  suite(`${n}: a claim with pacing spends the trunk's token only when it commits an attempt`, async () => {
    const store = await backend.fresh();
    const c = store.campaigns;
    await c.createCampaign(campaign('c1'));
    await c.addContacts('c1', ['+8613600136001', '+8613600136002', '+8613600136003'].map((number) => ({ number, variables: {} })), NOW);
    const due = await c.dueContacts('c1', NOW, 3);
    const t0 = Date.parse(NOW);
    // 1 call/s: a burst of one token.
    const pacing = (ms: number) => ({ pacing: pace(1, t0 + ms) });
    assert.ok((await c.claimAttempt(claim('c1', due[0]!.id, 'p1', pacing(0)))).ok);
    // Lost races spend nothing: the contact is already dialling, so the claim says `taken` and the token stays.
    assert.equal(await c.claimAttempt(claim('c1', due[0]!.id, 'p2', pacing(1000))), { ok: false, reason: 'taken' });
    assert.ok((await c.claimAttempt(claim('c1', due[1]!.id, 'p3', pacing(1000)))).ok, 'the token the lost race left');
    const paced = await c.claimAttempt(claim('c1', due[2]!.id, 'p4', pacing(1500)));
    assert.equal(paced, { ok: false, reason: 'paced' });
    assert.is(await c.getAttempt('p4'), undefined, 'no attempt without a token');
    assert.is((await c.getContact(due[2]!.id))?.state, 'pending', 'the contact stays pending');
    assert.ok((await c.claimAttempt(claim('c1', due[2]!.id, 'p5', pacing(2000)))).ok, 'claimed once the budget refills');
    await store.close();
  });

  suite(`${n}: maxConcurrent holds in the claim itself, whichever nodes claim at once`, async () => {
    const stores = backend.nodes ? await backend.nodes(3) : [await backend.fresh()];
    const [first] = stores;
    await first!.campaigns.createCampaign(campaign('capped', { maxConcurrent: 4 }));
    const numbers = Array.from({ length: 12 }, (_, i) => `+861360013${String(i).padStart(4, '0')}`);
    await first!.campaigns.addContacts('capped', numbers.map((number) => ({ number, variables: {} })), NOW);
    const due = await first!.campaigns.dueContacts('capped', NOW, 100);
    // Each node read the campaign as empty and claims as if all 4 places were its own.
    const results = await Promise.all(stores.flatMap((s, node) => due.slice(node * 4, node * 4 + 4).map((c) => s.campaigns.claimAttempt(claim('capped', c.id, `cap-${c.id}`, { nodeId: `node-${node}` })))));
    assert.is(results.filter((r) => r.ok).length, 4, 'never more in flight than maxConcurrent');
    assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'full'));
    assert.is(await first!.campaigns.liveCount('capped'), 4);
    // A place freed is a place to claim again.
    const done = results.find((r) => r.ok);
    await first!.campaigns.finishAttempt(done!.ok ? done!.attempt.id : '', { disposition: 'busy', endedAt: NOW }, { state: 'done' }, undefined, 'done');
    const next = due.find((c) => !results.some((r) => r.ok && r.attempt.contactId === c.id));
    assert.ok((await first!.campaigns.claimAttempt(claim('capped', next!.id, 'cap-again'))).ok);
    for (const s of stores) await s.close();
  });

  if (backend.nodes) {
    suite(`${n}: several senders claiming webhooks at once get each row once`, async () => {
      const stores = await backend.nodes!(3);
      const [first] = stores;
      await first!.campaigns.createCampaign(campaign('wh'));
      for (let i = 0; i < 40; i++) await first!.campaigns.enqueueWebhook({ campaignId: 'wh', event: 'e', idempotencyKey: `k${i}`, payload: {} }, NOW);
      const batches = await Promise.all(stores.flatMap((s) => [0, 1].map(() => s.campaigns.claimWebhooks('2026-03-02T02:01:00.000Z', '2026-03-02T02:02:00.000Z', 7))));
      const ids = batches.flat().map((w) => w.id);
      assert.is(new Set(ids).size, ids.length, 'no row in two claims');
      for (const s of stores) await s.close();
    });

    suite(`${n}: three nodes claiming the same contacts at once dial each contact exactly once`, async () => {
      const stores = await backend.nodes!(3);
      const [first] = stores;
      await first!.campaigns.createCampaign(campaign('race', { maxConcurrent: 100 }));
      const numbers = Array.from({ length: 60 }, (_, i) => `+861350013${String(i).padStart(4, '0')}`);
      await first!.campaigns.addContacts('race', numbers.map((number) => ({ number, variables: {} })), NOW);
      const due = await first!.campaigns.dueContacts('race', NOW, 100);
      // Every node tries every contact, as nodes reading the same due list would.
      const results = await Promise.all(
        stores.flatMap((s, node) => due.map((contact) => s.campaigns.claimAttempt(claim('race', contact.id, `race-${node}-${contact.id}`, { nodeId: `node-${node}` })))),
      );
      const won = results.filter((r) => r.ok);
      assert.is(won.length, due.length, 'one winner per contact');
      assert.is(new Set(won.map((r) => r.ok && r.attempt.contactId)).size, due.length);
      for (const s of stores) await s.close();
    });
  }
}
