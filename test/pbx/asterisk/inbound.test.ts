import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HangupInfo } from '../../../src/pbx/types.ts';
import { nextCall, startHarness, until } from './harness.ts';

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
    await until(() => h.adapter.activeCalls === 0, 2000, 'call released');
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
    await until(() => calls === 1, 2000, 'one call');
    assert.is(calls, 1);
  } finally {
    await h.close();
  }
});

test.run();
