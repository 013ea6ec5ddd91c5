import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_PROFILES, CampaignDialer, CampaignService, ManualClock, type CallPlacer } from '../../src/campaign/index.ts';
import type { OutboundCallOutcome, OutboundCallRequest, PlaceCallResult } from '../../src/calls/index.ts';
import type { LiveChannel, PbxAdapter } from '../../src/pbx/index.ts';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { dropTestDatabases, freshDatabase, POSTGRES_URL } from '../store/postgres-harness.ts';
import { FakePlacer, log, numbers, WED_10_SHANGHAI } from './helpers.ts';
import { patient } from '../support/wait.ts';

/**
 * Leases across nodes: a running survivor reconciles the expired leases of a dead node against the PBX (by the
 * attempt id on the channel) without being restarted, and a draining node hands back what it has not dialled.
 * Both on SQLite (one file, two dialers) and on PostgreSQL (two store connections, as two nodes have).
 */
interface Backend {
  name: string;
  /** Two handles on one fresh database: node A's and node B's. */
  open(): Promise<[Store, Store]>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const store = openSqliteStore(':memory:', { log });
      return [store, store];
    },
  },
];
if (POSTGRES_URL) {
  backends.push({
    name: 'postgres',
    async open() {
      const url = await freshDatabase();
      const a = await openPostgresStore(storeConfigSchema.parse({ url }), { log, nodeId: 'node-a' });
      const b = await openPostgresStore(storeConfigSchema.parse({ url }), { log, nodeId: 'node-b' });
      return [a, b];
    },
  });
} else {
  console.log('lease-sweep.test.ts: PostgreSQL part skipped, TEST_POSTGRES_URL is not set (.ci/run sets it)');
}

/** A node that died after dialling: its calls never end in this process. */
class DeadNodePlacer implements CallPlacer {
  readonly placed: OutboundCallRequest[] = [];
  async placeCall(req: OutboundCallRequest): Promise<PlaceCallResult> {
    this.placed.push(req);
    return { callId: `dead-${this.placed.length}`, outcome: new Promise<OutboundCallOutcome>(() => undefined) };
  }
}

/** The PBX as reconciliation sees it: channels with their attempt id, hangups recorded; `ready` false = ARI does not answer. */
class FakePbx {
  ready = true;
  channels: LiveChannel[] = [];
  readonly hungUp: string[] = [];
  listed = 0;
  adapter(): PbxAdapter {
    const self = this;
    return {
      kind: 'asterisk',
      ready: true,
      async listLiveCalls() {
        self.listed++;
        if (!self.ready) throw new Error('ARI unreachable');
        return self.channels;
      },
      async hangupChannel(id: string) {
        self.hungUp.push(id);
        self.channels = self.channels.filter((c) => c.pbxCallId !== id);
        return true;
      },
    } as unknown as PbxAdapter;
  }
}

const profiles = { ...BUILTIN_PROFILES };
const iso = (ms: number): string => new Date(ms).toISOString();

async function campaignOn(store: Store, clock: ManualClock, count: number, input: Record<string, unknown>) {
  const service = new CampaignService({ store: store.campaigns, clock, profiles, callerIdPool: [], defaultCountry: 'CN' });
  const c = await service.create({ name: 'sweep', flow: 'demo', dialPattern: 'PJSIP/{national}@trunk', profile: 'cn-collection', expectedCallSec: 60, ...input });
  await store.campaigns.addContacts(c.id, numbers(count).map((n) => ({ number: n, role: 'debtor' as const, variables: {} })), iso(clock.now()));
  await service.act(c.id, 'start');
  return { service, campaign: c };
}

/** Moves the fake clock in steps, giving real I/O (PostgreSQL) time to run between them. */
async function advance(clock: ManualClock, ms: number, stepMs = 250): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 3));
  }
}

/** Moves the fake clock until `done()` holds (checked between steps), for at most 20 s of real time. */
async function advanceUntil(clock: ManualClock, done: () => boolean | Promise<boolean>, stepMs = 100): Promise<void> {
  const deadline = Date.now() + patient(20_000);
  while (!(await done()) && Date.now() < deadline) await advance(clock, stepMs, stepMs);
}

/** stop() waits for the loop's sleep on the fake clock: keep the clock moving until it returns. */
async function stopOn(clock: ManualClock, dialer: CampaignDialer): Promise<void> {
  let stopped = false;
  const p = dialer.stop().then(() => {
    stopped = true;
  });
  while (!stopped) await advance(clock, 100, 100);
  await p;
}

for (const backend of backends) {
  test(`${backend.name}: a running survivor reconciles a dead node's expired leases against the PBX, never re-dials unknown`, async () => {
    const [storeA, storeB] = await backend.open();
    const clock = new ManualClock(WED_10_SHANGHAI);
    const { campaign } = await campaignOn(storeA, clock, 6, { cps: 50, maxConcurrent: 4, retry: { maxAttempts: 3 } });
    const leaseMs = 30_000;

    // Node A claims and dials four contacts, then dies (no more ticks, no heartbeats, its calls never end here).
    const deadPlacer = new DeadNodePlacer();
    const a = new CampaignDialer({ store: storeA.campaigns, calls: storeA.calls, placer: deadPlacer, adapters: [], clock, nodeId: 'node-a', profiles, freeCalls: () => 100, log, leaseMs });
    await a.reconcile();
    for (let i = 0; i < 10 && deadPlacer.placed.length < 4; i++) {
      await a.tick();
      await clock.advance(100);
    }
    assert.is(deadPlacer.placed.length, 4);
    const attempts = (await storeA.campaigns.listAttempts(campaign.id)).sort((x, y) => x.contactId - y.contactId);
    assert.is(attempts.length, 4);
    const [live, ended, lostA, lostB] = attempts as [(typeof attempts)[0], (typeof attempts)[0], (typeof attempts)[0], (typeof attempts)[0]];
    // On the PBX: the first is still up; the second's call record was stored as busy before the node died.
    const pbx = new FakePbx();
    pbx.channels = [{ pbxCallId: 'chan-live', attemptId: live.id, state: 'Up' } as LiveChannel, { pbxCallId: 'chan-other', state: 'Up' } as LiveChannel];
    await storeA.calls.createCall({ id: 'call-ended', pbx: 'asterisk', direction: 'outbound', lang: 'zh', status: 'active', startedAt: iso(clock.now()), variables: {} });
    await storeA.calls.updateCall('call-ended', { status: 'ended', endedAt: iso(clock.now() + 2000), disposition: 'busy', hangupCause: 17 });
    await storeA.campaigns.markAttempt(ended.id, { callId: 'call-ended' });

    // Node B runs on its own loop: heartbeat, ticks and the periodic sweep.
    const placerB = new FakePlacer(clock, () => ({ disposition: 'completed', answered: true, durationMs: 1000 }));
    const b = new CampaignDialer({ store: storeB.campaigns, calls: storeB.calls, placer: placerB, adapters: [pbx.adapter()], clock, nodeId: 'node-b', profiles, freeCalls: () => 100, log, leaseMs, heartbeatMs: 2000, tickMs: 100 });
    pbx.ready = false;
    await b.start();
    try {
      await advance(clock, 20_000);
      // Leases still valid: B touches nothing, and cannot dial (A's four fill the campaign's cap across nodes).
      assert.is(placerB.placed.length, 0, 'the campaign cap is held across nodes');
      assert.ok((await storeB.campaigns.listAttempts(campaign.id)).every((x) => x.state === 'dialing' && x.nodeId === 'node-a'));
      assert.is(pbx.listed, 0, 'nothing expired: the PBX is not even asked');

      // Leases expire while the PBX cannot answer: nothing is decided without it.
      await advance(clock, 20_000);
      assert.ok(pbx.listed > 0, 'the sweep asked the PBX');
      assert.ok((await storeB.campaigns.listAttempts(campaign.id)).every((x) => x.state === 'dialing' && x.nodeId === 'node-a'), 'no lease taken while the PBX is unreachable');

      pbx.ready = true;
      await advanceUntil(clock, async () => (await storeB.campaigns.listAttempts(campaign.id)).filter((x) => attempts.some((y) => y.id === x.id)).every((x) => x.state !== 'dialing'), 250);
      const after = new Map((await storeB.campaigns.listAttempts(campaign.id)).map((x) => [x.id, x]));
      assert.is(after.get(live.id)!.disposition, 'interrupted');
      assert.equal(pbx.hungUp, ['chan-live'], 'the live channel found by its attempt id is hung up, no other');
      assert.is(after.get(ended.id)!.disposition, 'busy', 'outcome taken from the call record');
      assert.is(after.get(ended.id)!.cause, 17);
      for (const lost of [lostA, lostB]) {
        assert.is(after.get(lost.id)!.state, 'unknown');
        assert.is((await storeB.campaigns.getContact(lost.contactId))!.state, 'unknown');
      }
      // B goes on with the contacts A never reached; the unknown ones are never dialled again.
      await advanceUntil(clock, () => placerB.placed.length >= 2, 250);
      await advance(clock, 10_000);
      const dialledByB = placerB.placed.map((p) => p.req.variables?.contact_number);
      for (const lost of [lostA, lostB]) assert.not.ok(dialledByB.includes(lost.number), `unknown ${lost.number} re-dialled`);
      const untouched = (await storeB.campaigns.listContacts(campaign.id)).filter((c) => !attempts.some((x) => x.contactId === c.id));
      assert.is(untouched.length, 2);
      assert.equal(dialledByB.sort(), untouched.map((c) => c.number).sort());
    } finally {
      await stopOn(clock, b);
      await storeA.close();
      if (storeB !== storeA) await storeB.close();
    }
  });

  test(`${backend.name}: drain hands back undialled attempts; leases of calls still in flight stay renewed`, async () => {
    const [storeA, storeB] = await backend.open();
    const clock = new ManualClock(WED_10_SHANGHAI);
    const { campaign } = await campaignOn(storeA, clock, 5, { cps: 50, maxConcurrent: 5, retry: { maxAttempts: 3 } });
    const leaseMs = 10_000;
    // The outbound path answers only once released (an endpoint check on the way): two calls get through before
    // SIGTERM, the rest meet admission refusing a draining node, as OutboundCallService reports it.
    let draining = false;
    const gates: (() => void)[] = [];
    const inner = new FakePlacer(clock, () => ({ disposition: 'completed', answered: true, durationMs: 60_000 }));
    const placer: CallPlacer = {
      async placeCall(req) {
        await new Promise<void>((r) => gates.push(r));
        if (draining) return { error: 'node draining', refused: 'admission' };
        return inner.placeCall(req);
      },
    };
    const a = new CampaignDialer({ store: storeA.campaigns, calls: storeA.calls, placer, adapters: [], clock, nodeId: 'node-a', profiles, freeCalls: () => 100, log, leaseMs, heartbeatMs: 2000, tickMs: 100 });
    const b = new CampaignDialer({ store: storeB.campaigns, calls: storeB.calls, placer: new FakePlacer(clock), adapters: [new FakePbx().adapter()], clock, nodeId: 'node-b', profiles, freeCalls: () => 0, log, leaseMs });
    await a.start();
    try {
      await advanceUntil(clock, () => gates.length >= 5);
      assert.is(gates.length, 5, 'five claims, none dialled yet');
      gates.shift()!();
      gates.shift()!();
      await advanceUntil(clock, () => inner.placed.length >= 2);
      assert.is(inner.placed.length, 2);
      // SIGTERM: admission drains, the dialer stops claiming; the three waiting dials are refused and handed back.
      draining = true;
      await stopOn(clock, a);
      for (const open of gates.splice(0)) open();
      await advanceUntil(clock, () => a.handedBack >= 3);
      assert.is(a.handedBack, 3);
      const rows = await storeA.campaigns.listAttempts(campaign.id);
      assert.is(rows.length, 2, 'handed-back attempts leave no row');
      const contacts = await storeA.campaigns.listContacts(campaign.id);
      const back = contacts.filter((c) => !rows.some((r) => r.contactId === c.id));
      assert.is(back.length, 3);
      for (const c of back) {
        assert.is(c.state, 'pending');
        assert.is(c.attempts, 0, 'a handed-back attempt is not counted');
      }
      // Three lease periods of draining: the two live calls keep their leases, so a survivor's sweep leaves them.
      await advance(clock, 3 * leaseMs, 500);
      const swept = await b.reconcile({ expiredOnly: true });
      assert.is(swept.checked, 0, 'nothing of the draining node expired');
      assert.ok((await storeA.campaigns.listAttempts(campaign.id)).every((r) => r.state === 'dialing' && r.nodeId === 'node-a'));
      await advanceUntil(clock, async () => (await storeA.campaigns.listAttempts(campaign.id)).every((r) => r.state === 'done'), 500);
      await a.settled();
      const done = await storeA.campaigns.listAttempts(campaign.id);
      assert.ok(done.every((r) => r.state === 'done' && r.disposition === 'completed'), JSON.stringify(done.map((r) => r.state)));
      // The handed-back contacts are anyone's now (node B claims one at once).
      const claimed = await storeB.campaigns.claimAttempt({
        campaignId: campaign.id,
        contactId: back[0]!.id,
        attemptId: 'att_b1',
        nodeId: 'node-b',
        now: iso(clock.now()),
        leaseUntil: iso(clock.now() + leaseMs),
        trunk: 'default',
        caps: { dayStart: iso(clock.now() - 3600_000), weekStart: iso(clock.now() - 86_400_000), nextDay: iso(clock.now() + 86_400_000) },
      });
      assert.ok(claimed.ok && claimed.attempt.attemptNo === 1, 'the next claim is attempt 1 again');
    } finally {
      await stopOn(clock, a);
      await storeA.close();
      if (storeB !== storeA) await storeB.close();
    }
  });
}

test.after(() => dropTestDatabases());

test.run();
