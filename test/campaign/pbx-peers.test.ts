import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_PROFILES, CampaignDialer, CampaignService, systemClock } from '../../src/campaign/index.ts';
import { OutboundCallService, PbxCallRunner } from '../../src/calls/index.ts';
import type { PbxAdapter, PbxCall } from '../../src/pbx/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { startHarness } from '../pbx/asterisk/harness.ts';
import { createFreeswitchAdapter } from '../../src/pbx/freeswitch/index.ts';
import { rig, teardown } from '../pbx/freeswitch/harness.ts';
import { transferringEngine } from '../pbx/freeswitch/transferring-engine.ts';
import { until } from '../support/e2e.ts';
import { log } from './helpers.ts';

/** A short fake conversation: the callee answered, the "dialog" lasts a moment, the bot hangs up. */
function shortCallRunner(store: Store, ms = 20) {
  return {
    async run(call: PbxCall, callId?: string): Promise<void> {
      await new Promise((r) => setTimeout(r, ms));
      await call.hangup(16);
      if (callId) await store.calls.updateCall(callId, { status: 'ended', endedAt: new Date().toISOString(), disposition: 'completed', answeredAt: new Date(Date.now() - ms).toISOString() });
    },
  };
}

type CallRunner = ConstructorParameters<typeof OutboundCallService>[0]['runner'];

async function setup(adapter: PbxAdapter, dialPattern: string, runner: (store: Store) => CallRunner = shortCallRunner) {
  const store = openSqliteStore(':memory:');
  const outbound = new OutboundCallService({ adapters: [adapter], calls: store.calls, runner: runner(store), log });
  const service = new CampaignService({ store: store.campaigns, clock: systemClock, profiles: BUILTIN_PROFILES, callerIdPool: [], defaultCountry: 'CN' });
  // A profile open all day so the test does not depend on the hour it runs.
  const profiles = { ...BUILTIN_PROFILES, always: { ...BUILTIN_PROFILES['cn-collection']!, windows: { default: ['00:00-24:00'] }, maxAttemptsPerNumberPerDay: undefined } };
  service.o.profiles.always = profiles.always;
  const dialer = new CampaignDialer({ store: store.campaigns, calls: store.calls, placer: outbound, adapters: [adapter], clock: systemClock, nodeId: 'n1', profiles, freeCalls: () => 100, log, tickMs: 20 });
  const webhook = { url: 'http://127.0.0.1:9/crm', secret: 'a-webhook-secret-of-16+' };
  const campaign = await service.create({ name: 'peer', flow: 'demo', dialPattern, profile: 'always', expectedCallSec: 0, cps: 50, maxConcurrent: 10, retry: { maxAttempts: 1 }, webhook });
  return { store, outbound, service, dialer, campaign };
}

const NUMBERS = { answer: '+8613800000001', busy: '+8613800000002', 'no-answer': '+8613800000003', unreachable: '+8613800000004' } as const;

test('FreeSWITCH peer: answer, busy, ring out, fail; the attempt id travels as callpilot_attempt', async () => {
  const r = await rig();
  r.fs.setCallee((dial) => {
    for (const [outcome, n] of Object.entries(NUMBERS)) if (dial.endsWith(n.slice(3))) return outcome as 'answer';
    return 'answer';
  });
  await r.adapter.start();
  await until(() => r.adapter.ready, 'ESL up', 5000);
  const w = await setup(r.adapter, 'sofia/gateway/gw/{national}');
  try {
    await w.store.campaigns.addContacts(w.campaign.id, Object.values(NUMBERS).map((n) => ({ number: n, role: 'debtor' as const, variables: {} })), new Date().toISOString());
    await w.service.act(w.campaign.id, 'start');
    await w.dialer.start();
    await until(async () => (await w.service.get(w.campaign.id)).state === 'finished', 'campaign finished', 20_000);
    const attempts = await w.store.campaigns.listAttempts(w.campaign.id);
    const byNumber = Object.fromEntries(attempts.map((a) => [a.number, a]));
    assert.is(byNumber[NUMBERS.answer]!.disposition, 'completed');
    assert.ok(byNumber[NUMBERS.answer]!.answeredAt);
    assert.is(byNumber[NUMBERS.busy]!.disposition, 'busy');
    assert.is(byNumber[NUMBERS.busy]!.cause, 17);
    assert.is(byNumber[NUMBERS['no-answer']]!.disposition, 'no-answer');
    assert.is(byNumber[NUMBERS.unreachable]!.disposition, 'unreachable');
    assert.is(r.fs.originates.length, 4);
    for (const o of r.fs.originates) {
      const attempt = attempts.find((a) => a.id === o.variables.callpilot_attempt);
      assert.ok(attempt, `originate ${o.dial} carries a known attempt id`);
      assert.ok(o.dial.endsWith(attempt!.number.slice(3)));
    }
  } finally {
    await w.dialer.stop();
    await teardown(r);
  }
});

test('FreeSWITCH peer: the callee hangs up while the agent rings after the bot transferred: the attempt, its stats and its CRM webhook say abandoned', async () => {
  const r = await rig({ transferVerifyMs: 5000 });
  r.fs.setDialplan(() => 'ring');
  await r.adapter.start();
  await until(() => r.adapter.ready, 'ESL up', 5000);
  const seen: { callId?: string; pbxCallId?: string; runEnded?: boolean } = {};
  const w = await setup(r.adapter, 'sofia/gateway/gw/{national}', (store) => {
    const runner = new PbxCallRunner({ engine: transferringEngine(store.calls, seen), calls: store.calls, log, causeWaitMs: 300 });
    return {
      run: async (call: PbxCall, callId: string) => {
        const end = await runner.run(call, callId);
        seen.runEnded = true;
        return end;
      },
    };
  });
  try {
    await w.store.campaigns.addContacts(w.campaign.id, [{ number: NUMBERS.answer, role: 'debtor' as const, variables: {} }], new Date().toISOString());
    await w.service.act(w.campaign.id, 'start');
    await w.dialer.start();
    // The bot has handed the callee to the agent extension, stored `transfer_pending` and its run is over (no hangup
    // came within causeWaitMs); the agent phone rings, and only now does the callee give up.
    await until(() => seen.runEnded === true, 'the call run ended', 10_000);
    assert.is((await w.store.calls.getCall(seen.callId as string))?.disposition, 'transfer_pending');
    assert.ok(r.fs.channel(seen.pbxCallId as string).transferredTo, 'in the agent extension');
    await r.fs.hangupFromCaller(seen.pbxCallId as string);
    await until(async () => (await w.service.get(w.campaign.id)).state === 'finished', 'campaign finished', 20_000);
    const [attempt] = await w.store.campaigns.listAttempts(w.campaign.id);
    assert.is(attempt!.disposition, 'abandoned');
    assert.is(attempt!.cause, 16);
    const stats = await w.service.stats(w.campaign.id);
    assert.is(stats.abandoned, 1);
    assert.is(stats.transferred, 1);
    const hooks = await w.store.campaigns.listWebhooks({ campaignId: w.campaign.id });
    const finished = hooks.filter((h) => h.event === 'attempt.finished');
    assert.is(finished.length, 1, 'one attempt webhook, not a transferred one corrected later');
    assert.is(finished[0]!.payload.disposition, 'abandoned');
  } finally {
    await w.dialer.stop();
    await teardown(r);
  }
});

test('FreeSWITCH peer: a node dies while the agent rings; the agent answers; the restarted node settles the attempt transferred from the bridge, never hangs the caller up', async () => {
  for (const agentAnswers of [true, false]) {
    const r = await rig({ transferVerifyMs: 600_000 });
    r.fs.setDialplan(() => 'ring');
    await r.adapter.start();
    await until(() => r.adapter.ready, 'ESL up', 5000);
    const w = await setup(r.adapter, 'sofia/gateway/gw/{national}');
    const restarted = createFreeswitchAdapter(r.cfg, { log });
    try {
      await w.store.campaigns.addContacts(w.campaign.id, [{ number: NUMBERS.answer, role: 'debtor' as const, variables: {} }], new Date().toISOString());
      await w.service.act(w.campaign.id, 'start');
      const [contact] = await w.store.campaigns.listContacts(w.campaign.id);
      const now = new Date().toISOString();
      const claimed = await w.store.campaigns.claimAttempt({
        campaignId: w.campaign.id, contactId: contact!.id, attemptId: 'att_tx', nodeId: 'n1', now,
        leaseUntil: new Date(Date.now() + 60_000).toISOString(), trunk: 'default', caps: { dayStart: now, weekStart: now, nextDay: now },
      });
      assert.ok(claimed.ok);
      // The node that died: it dialled, the bot transferred, and it stored the transfer as pending.
      const seen: { callId?: string; pbxCallId?: string } = {};
      const result = await r.adapter.originate({ endpoint: 'sofia/gateway/gw/13800000001', attemptId: 'att_tx' });
      assert.is(result.disposition, 'answered');
      const runner = new PbxCallRunner({ engine: transferringEngine(w.store.calls, seen), calls: w.store.calls, log, causeWaitMs: 300 });
      await w.store.campaigns.markAttempt('att_tx', { callId: 'call_tx', state: 'live', answeredAt: now });
      void runner.run(result.disposition === 'answered' ? result.call : (undefined as never), 'call_tx');
      await until(async () => (await w.store.calls.getCall('call_tx'))?.disposition === 'transfer_pending', 'transfer_pending stored', 10_000);
      await r.adapter.stop(); // the crash
      if (agentAnswers) r.fs.agentAnswers(seen.pbxCallId as string);
      await restarted.start();
      await until(() => restarted.ready, 'restarted ESL up', 5000);
      const dialer = new CampaignDialer({ store: w.store.campaigns, calls: w.store.calls, placer: w.outbound, adapters: [restarted], clock: systemClock, nodeId: 'n1', profiles: BUILTIN_PROFILES, freeCalls: () => 100, log, tickMs: 20 });
      const report = await dialer.reconcile();
      assert.equal([report.checked, report.hungUp, report.fromCallRecord], [1, 0, 1], JSON.stringify(report));
      assert.not.ok(r.fs.channel(seen.pbxCallId as string).hungUp, 'the caller handed to a human is never hung up by recovery');
      const expected = agentAnswers ? 'transferred' : 'transfer_unverified';
      assert.is((await w.store.calls.getCall('call_tx'))?.disposition, expected);
      assert.is((await w.store.campaigns.getAttempt('att_tx'))?.disposition, expected, 'the attempt says what the call record says');
      const hooks = (await w.store.campaigns.listWebhooks({ campaignId: w.campaign.id })).filter((h) => h.event === 'attempt.finished');
      assert.equal(hooks.map((h) => h.payload.disposition), [expected], 'and so does the CRM webhook');
    } finally {
      await restarted.stop();
      await teardown(r);
    }
  }
});

test('FreeSWITCH peer: reconcile hangs up a live channel of a crashed run and marks lost attempts unknown', async () => {
  const r = await rig();
  await r.adapter.start();
  await until(() => r.adapter.ready, 'ESL up', 5000);
  const w = await setup(r.adapter, 'sofia/gateway/gw/{national}');
  try {
    await w.store.campaigns.addContacts(w.campaign.id, [NUMBERS.answer, NUMBERS.busy].map((n) => ({ number: n, role: 'debtor' as const, variables: {} })), new Date().toISOString());
    await w.service.act(w.campaign.id, 'start');
    const contacts = await w.store.campaigns.listContacts(w.campaign.id);
    const now = new Date().toISOString();
    const caps = { dayStart: now, weekStart: now, nextDay: now };
    const claim = async (contactId: number, attemptId: string) =>
      w.store.campaigns.claimAttempt({ campaignId: w.campaign.id, contactId, attemptId, nodeId: 'n1', now, leaseUntil: new Date(Date.now() + 60_000).toISOString(), trunk: 'default', caps });
    assert.ok((await claim(contacts[0]!.id, 'att_live')).ok);
    assert.ok((await claim(contacts[1]!.id, 'att_lost')).ok);
    // The crashed run had originated the first one: it is up on the PBX, nobody runs it.
    const result = await r.adapter.originate({ endpoint: 'sofia/gateway/gw/13800000001', attemptId: 'att_live' });
    assert.is(result.disposition, 'answered');
    const live = await r.adapter.listLiveCalls();
    assert.equal(live.map((l) => l.attemptId), ['att_live']);
    const report = await w.dialer.reconcile();
    assert.equal(report, { checked: 2, hungUp: 1, fromCallRecord: 0, unknown: 1 });
    await until(() => (r.adapter as unknown as { calls: Map<string, unknown> }).calls.size === 0, 'hung up', 5000);
    assert.equal((await r.adapter.listLiveCalls()).length, 0);
    const a1 = await w.store.campaigns.getAttempt('att_live');
    const a2 = await w.store.campaigns.getAttempt('att_lost');
    assert.is(a1!.disposition, 'interrupted');
    assert.is(a2!.state, 'unknown');
    const c2 = await w.store.campaigns.getContact(contacts[1]!.id);
    assert.is(c2!.state, 'unknown', 'an unknown fate is never re-dialled automatically');
  } finally {
    await teardown(r);
  }
});

test('Asterisk peer: answer, busy, ring out, fail; CALLPILOT_ATTEMPT on the originate; live channels listed', async () => {
  const h = await startHarness({}, { timeScale: 0.05 });
  const outcomes = { answer: 'answered', busy: 'busy', 'no-answer': 'no-answer', unreachable: 'unreachable' } as const;
  for (const [k, n] of Object.entries(NUMBERS)) h.asterisk.outcomeByEndpoint.set(`PJSIP/${n.slice(3)}@sipp-uas`, outcomes[k as keyof typeof outcomes]);
  const w = await setup(h.adapter, 'PJSIP/{national}@sipp-uas');
  try {
    await w.store.campaigns.addContacts(w.campaign.id, Object.values(NUMBERS).map((n) => ({ number: n, role: 'debtor' as const, variables: {} })), new Date().toISOString());
    await w.service.act(w.campaign.id, 'start');
    await w.dialer.start();
    await until(async () => (await w.service.get(w.campaign.id)).state === 'finished', 'campaign finished', 30_000);
    const attempts = await w.store.campaigns.listAttempts(w.campaign.id);
    const byNumber = Object.fromEntries(attempts.map((a) => [a.number, a]));
    assert.is(byNumber[NUMBERS.answer]!.disposition, 'completed');
    assert.is(byNumber[NUMBERS.busy]!.disposition, 'busy');
    assert.is(byNumber[NUMBERS['no-answer']]!.disposition, 'no-answer');
    assert.is(byNumber[NUMBERS.unreachable]!.disposition, 'unreachable');
    const originates = h.asterisk.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/channels'));
    assert.is(originates.length, 4);
    for (const o of originates) {
      const vars = (o.body as { variables?: Record<string, string> }).variables ?? {};
      assert.ok(attempts.some((a) => a.id === vars.CALLPILOT_ATTEMPT), 'originate carries the attempt id');
    }
    // A channel up on the PBX is listed with its attempt id.
    const res = await h.adapter.originate({ endpoint: 'PJSIP/13800000009@sipp-uas', attemptId: 'att_x' });
    assert.is(res.disposition, 'answered');
    const live = await h.adapter.listLiveCalls();
    assert.ok(live.some((l) => l.attemptId === 'att_x'));
    if (res.disposition === 'answered') await res.call.hangup(16);
  } finally {
    await w.dialer.stop();
    await h.close();
  }
});

test.run();
