import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PbxCallRunner, settlePendingTransfers } from '../../../src/calls/index.ts';
import { createFreeswitchAdapter } from '../../../src/pbx/freeswitch/index.ts';
import type { PbxCall } from '../../../src/pbx/types.ts';
import { openSqliteStore, type CallRecord, type Store } from '../../../src/store/index.ts';
import { log, rig, type Rig, teardown, until } from './harness.ts';
import { transferringEngine } from './transferring-engine.ts';
import type { TransferRoute } from './peer/fake-freeswitch.ts';

/**
 * What a FreeSWITCH transfer really became, stored: the bot hands the caller to the agent extension, the peer's
 * dialplan bridges, has no such extension, or rings until the caller gives up, and the call store must say so.
 */

interface Setup {
  r: Rig;
  store: Store;
  dir: string;
  runner: PbxCallRunner;
  seen: { callId?: string };
}

async function setUp(route: TransferRoute, transferVerifyMs = 3000): Promise<Setup> {
  const r = await rig({ transferVerifyMs });
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-fs-transfer-'));
  const store = openSqliteStore(join(dir, 'calls.db'));
  const seen: { callId?: string } = {};
  const runner = new PbxCallRunner({ engine: transferringEngine(store.calls, seen), calls: store.calls, log, causeWaitMs: 500 });
  r.adapter.on('call', (call: PbxCall) => runner.accept(call));
  r.fs.setDialplan(() => route);
  await r.adapter.start();
  return { r, store, dir, runner, seen };
}

async function tearDown(s: Setup): Promise<void> {
  await s.runner.settled();
  await teardown(s.r);
  await s.store.close();
  rmSync(s.dir, { recursive: true, force: true });
}

async function storedCall(s: Setup, done: (c: CallRecord) => boolean, what: string): Promise<CallRecord> {
  let call: CallRecord | undefined;
  await until(async () => {
    call = s.seen.callId ? await s.store.calls.getCall(s.seen.callId) : undefined;
    return call !== undefined && done(call);
  }, what, 10000);
  return call as CallRecord;
}

test('transfer to an extension the dialplan does not have: stored transfer_failed with Q.850 3 by the PBX, not transferred', async () => {
  const s = await setUp('no-route');
  try {
    const channel = await s.r.fs.placeInboundCall({ callerId: '13800138000' });
    const call = await storedCall(s, (c) => c.disposition === 'transfer_failed', 'transfer_failed stored');
    assert.is(s.r.fs.channel(channel.uuid).transferredTo, 'agent');
    assert.is(call.hangupCause, 3);
    assert.is(call.hangupBy, 'pbx');
    const events = await s.store.calls.listEvents(call.id);
    const verdict = events.find((e) => e.type === 'transferOutcome');
    assert.is(verdict?.data.result, 'failed');
    assert.is(verdict?.data.causeText, 'NO_ROUTE_DESTINATION');
  } finally {
    await tearDown(s);
  }
});

test('transfer the agent phone answers (CHANNEL_BRIDGE): stays transferred, the verdict is stored as an event', async () => {
  const s = await setUp('bridge');
  try {
    await s.r.fs.placeInboundCall({ callerId: '13800138000' });
    await storedCall(s, (c) => c.disposition === 'transferred', 'transferred stored');
    const id = s.seen.callId as string;
    await until(async () => (await s.store.calls.listEvents(id)).some((e) => e.type === 'transferOutcome'), 'verdict stored', 10000);
    const verdict = (await s.store.calls.listEvents(id)).find((e) => e.type === 'transferOutcome');
    assert.is(verdict?.data.result, 'connected');
    assert.is((await s.store.calls.getCall(id))?.disposition, 'transferred');
  } finally {
    await tearDown(s);
  }
});

test('the caller hangs up while the agent phone rings: stored abandoned, hung up by the caller (recv_bye)', async () => {
  const s = await setUp('ring');
  try {
    const channel = await s.r.fs.placeInboundCall({ callerId: '13800138000' });
    await until(() => s.r.fs.channel(channel.uuid).transferredTo !== undefined, 'transferred to the agent extension', 10000);
    // The runner has stored `transfer_pending` (never `transferred` on faith) and is waiting; the caller gives up.
    await storedCall(s, (c) => c.disposition === 'transfer_pending', 'transfer_pending stored first');
    await s.r.fs.hangupFromCaller(channel.uuid);
    const call = await storedCall(s, (c) => c.disposition === 'abandoned', 'abandoned stored');
    assert.is(call.hangupBy, 'caller');
    assert.is(call.hangupCause, 16);
  } finally {
    await tearDown(s);
  }
});

/**
 * callpilot dies while the agent phone rings (the verdict is pending: `transfer_pending` stored); what happens on the
 * PBX meanwhile, then a restarted callpilot (a new adapter on the same FreeSWITCH) settles the call from what the PBX
 * shows: bridged to the agent -> `transferred`, still ringing or gone -> `transfer_unverified`, never a guess.
 */
async function crashWhilePending(meanwhile: (s: Setup, uuid: string) => Promise<void>): Promise<CallRecord & { callerHungUp: boolean }> {
  const s = await setUp('ring', 600_000);
  try {
    const channel = await s.r.fs.placeInboundCall({ callerId: '13800138000' });
    await storedCall(s, (c) => c.disposition === 'transfer_pending', 'transfer_pending stored');
    await s.r.adapter.stop(); // the crash: nobody watches the transfer any more
    await meanwhile(s, channel.uuid);
    const restarted = createFreeswitchAdapter(s.r.cfg, { log });
    await restarted.start();
    await until(() => restarted.ready, 'the restarted adapter is connected', 10000);
    try {
      const settled = await settlePendingTransfers(s.store.calls, [restarted], log, { endedBefore: new Date(Date.now() + 60_000).toISOString() });
      assert.equal(Object.values(settled), [1], JSON.stringify(settled));
    } finally {
      await restarted.stop();
    }
    const call = (await s.store.calls.getCall(s.seen.callId as string)) as CallRecord;
    const verdict = (await s.store.calls.listEvents(call.id)).find((e) => e.type === 'transferOutcome');
    assert.is(verdict?.data.recovered, true, 'the verdict is marked as learned at recovery');
    return { ...call, callerHungUp: s.r.fs.channel(channel.uuid).hungUp };
  } finally {
    await tearDown(s);
  }
}

test('crash while the agent rings, the agent answers meanwhile: settled transferred from the bridge FreeSWITCH shows', async () => {
  const call = await crashWhilePending(async (s, uuid) => s.r.fs.agentAnswers(uuid));
  assert.is(call.disposition, 'transferred');
});

test('crash while the agent rings, still ringing at restart: transfer_unverified, the caller is not hung up', async () => {
  const call = await crashWhilePending(async () => undefined);
  assert.is(call.disposition, 'transfer_unverified');
  assert.not.ok(call.callerHungUp, 'recovery never hangs up a caller handed to a human');
});

test('crash while the agent rings, the caller gone at restart: transfer_unverified (nobody knows if an agent answered)', async () => {
  const call = await crashWhilePending(async (s, uuid) => s.r.fs.hangupFromCaller(uuid));
  assert.is(call.disposition, 'transfer_unverified');
  assert.ok(call.callerHungUp);
});

test.run();
