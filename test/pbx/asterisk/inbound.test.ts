import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AsteriskAdapter } from '../../../src/pbx/asterisk/index.ts';
import type { HangupInfo, PbxCall } from '../../../src/pbx/types.ts';
import { nextCall, silent, startHarness } from './harness.ts';
import { until } from '../../support/wait.ts';

test('inbound: StasisStart args choose flow, language and variables; answer; caller BYE ends with 16 by caller', async () => {
  const h = await startHarness();
  try {
    const callP = nextCall(h.adapter);
    const ch = h.asterisk.placeInboundCall({ args: ['flow=overdue-reminder', 'lang=zh', 'debtor=42'], callerNumber: '13800138000' });
    const call = await callP;
    assert.is(call.info.pbx, 'asterisk');
    assert.is(call.info.pbxCallId, ch.id);
    assert.is(call.info.direction, 'inbound');
    assert.is(call.info.flow, 'overdue-reminder');
    assert.is(call.info.lang, 'zh');
    assert.equal(call.info.variables, { debtor: '42' });
    assert.is(call.info.from, '13800138000');
    assert.is(call.info.to, '100');
    await call.answer();
    assert.is(h.asterisk.channel(ch.id)?.state, 'Up');
    const answerReq = h.asterisk.requests.find((r) => r.path === `/ari/channels/${ch.id}/answer`);
    assert.is(answerReq?.status, 204);
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    await h.asterisk.callerHangup(ch.id);
    const info = await hung;
    assert.equal(info, { cause: 16, causeText: 'Normal Clearing', by: 'caller' });
    await until(() => h.adapter.activeCalls === 0, 'call released', 2000);
  } finally {
    await h.close();
  }
});

test('inbound: bot hangup with a cause deletes the channel with reason_code and reports by bot', async () => {
  const h = await startHarness();
  try {
    const callP = nextCall(h.adapter);
    const ch = h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    await call.hangup(21);
    const info = await hung;
    assert.equal(info, { cause: 21, causeText: 'Call Rejected', by: 'bot' });
    const del = h.asterisk.requests.find((r) => r.method === 'DELETE' && r.path === `/ari/channels/${ch.id}`);
    assert.is(del?.query.reason_code, '21');
    await call.hangup(16); // idempotent
    assert.is(h.asterisk.requests.filter((r) => r.method === 'DELETE' && r.path === `/ari/channels/${ch.id}`).length, 1);
  } finally {
    await h.close();
  }
});

test('inbound: media channels are not offered as calls', async () => {
  const h = await startHarness();
  try {
    let calls = 0;
    h.adapter.on('call', () => calls++);
    h.asterisk.placeInboundCall();
    await until(() => calls === 1, 'one call', 2000);
    assert.is(calls, 1);
  } finally {
    await h.close();
  }
});

test('two nodes on one Asterisk: each ARI app is offered only the calls in its own Stasis app', async () => {
  const h = await startHarness({ app: 'node-a' });
  const b = new AsteriskAdapter({ ...h.cfg, app: 'node-b' }, { log: silent });
  try {
    await b.start();
    await until(() => b.ready, 'second adapter ready', 5000);
    const offeredA: PbxCall[] = [];
    const offeredB: PbxCall[] = [];
    h.adapter.on('call', (c) => offeredA.push(c));
    b.on('call', (c) => offeredB.push(c));
    const toB = h.asterisk.placeInboundCall({ app: 'node-b' });
    const toA = h.asterisk.placeInboundCall({ app: 'node-a' });
    await until(() => offeredA.length + offeredB.length === 2, 'both calls offered', 3000);
    assert.equal(
      offeredA.map((c) => c.info.pbxCallId),
      [toA.id],
    );
    assert.equal(
      offeredB.map((c) => c.info.pbxCallId),
      [toB.id],
    );
  } finally {
    await b.stop();
    await h.close();
  }
});

test('inbound: a StasisStart for another ARI app (a socket subscribed to all events) is not answered', async () => {
  const h = await startHarness();
  try {
    const offered: string[] = [];
    h.adapter.on('call', (c) => offered.push(c.info.pbxCallId));
    const foreign = {
      type: 'StasisStart',
      timestamp: '2026-12-03T11:00:00.000+0000',
      application: 'other-node',
      args: [],
      channel: {
        id: 'foreign-1',
        name: 'PJSIP/sipp-00000099',
        state: 'Ring',
        caller: { name: '', number: '1000' },
        dialplan: { context: 'default', exten: '100', priority: 2, app_name: 'Stasis', app_data: 'other-node' },
      },
    };
    h.asterisk.sendRawEvent(JSON.stringify(foreign));
    // Events are handled in order: our own call is offered first only if the foreign one was passed over.
    const ours = h.asterisk.placeInboundCall();
    await until(() => offered.length >= 1, 'our call offered', 3000);
    assert.equal(offered, [ours.id]);
    assert.not.ok(h.asterisk.requests.some((r) => r.path.startsWith('/ari/channels/foreign-1')), 'nothing asked of the foreign channel');
  } finally {
    await h.close();
  }
});

test('two nodes on one Asterisk: a node that (re)starts leaves the other node\'s live call bridges alone', async () => {
  const h = await startHarness({ app: 'node-a', media: 'audiosocket' });
  const b = new AsteriskAdapter({ ...h.cfg, app: 'node-b' }, { log: silent });
  try {
    const callP = nextCall(h.adapter);
    h.asterisk.placeInboundCall({ app: 'node-a' });
    const call = await callP;
    await call.answer();
    await call.openMedia();
    const bridgesOfA = h.asterisk.liveBridgeIds();
    assert.is(bridgesOfA.length, 1, 'node A bridged its caller and media');
    await b.start();
    await until(() => b.ready, 'second node ready', 5000);
    assert.equal(h.asterisk.liveBridgeIds(), bridgesOfA, "node A's bridge is still up");
    assert.not.ok(h.asterisk.requests.some((r) => r.method === 'DELETE' && r.path.startsWith('/ari/bridges/')), 'no bridge destroyed');
  } finally {
    await b.stop();
    await h.close();
  }
});

test.run();
