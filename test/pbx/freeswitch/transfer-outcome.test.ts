import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PbxCallRunner } from '../../../src/calls/index.ts';
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

async function setUp(route: TransferRoute): Promise<Setup> {
  const r = await rig({ transferVerifyMs: 3000 });
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
    // The runner has stored `transferred` and is waiting for the verdict; the caller gives up.
    await storedCall(s, (c) => c.disposition === 'transferred', 'transferred stored first');
    await s.r.fs.hangupFromCaller(channel.uuid);
    const call = await storedCall(s, (c) => c.disposition === 'abandoned', 'abandoned stored');
    assert.is(call.hangupBy, 'caller');
    assert.is(call.hangupCause, 16);
  } finally {
    await tearDown(s);
  }
});

test.run();
