import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallpilotApp } from '../../../src/app.ts';
import { type AdmissionWire, checkAdmission, poll, refusedCount, withPbxApp } from '../../support/admission.ts';
import { addLogSecret } from '../../support/run-log.ts';
import { FakeAsterisk, type FakeChannel } from './peer/fake-asterisk.ts';

/*
 * Issue 9: past server.maxCalls a call Asterisk hands over is refused on the wire, through the real app against
 * the Asterisk peer: hung up with cause 34 (NORMAL_CIRCUIT_CONGESTION), or continued in the dialplan at
 * server.overflowTarget; counted in callpilot_calls_refused_total; admitted again once a call has ended.
 */

const ARI_PASSWORD = 'ari-pw-5d1e8c7b2a';
addLogSecret(ARI_PASSWORD);

async function withAsterisk(server: Record<string, unknown>, run: (app: CallpilotApp, asterisk: FakeAsterisk) => Promise<void>): Promise<void> {
  const asterisk = new FakeAsterisk({ password: ARI_PASSWORD });
  await asterisk.start();
  try {
    const pbx = { asterisk: { url: asterisk.url, username: 'bot', password: ARI_PASSWORD, app: 'bot', media: 'websocket' } };
    await withPbxApp({ server, pbx }, async (app) => {
      await poll(() => app.adapters[0]?.ready === true, 'ARI connected', 10_000);
      await run(app, asterisk);
    });
  } finally {
    await asterisk.stop();
  }
}

const hangupOf = (asterisk: FakeAsterisk, call: FakeChannel) =>
  asterisk.requests.find((r) => r.method === 'DELETE' && r.path === `/ari/channels/${call.id}`);

function asteriskWire(asterisk: FakeAsterisk): AdmissionWire<FakeChannel> {
  return {
    name: 'asterisk',
    place: async (n) => asterisk.placeInboundCall({ callerNumber: `1380013800${n}` }),
    running: (call) => (call.line?.heardAudioFrames ?? 0) > 0 && !hangupOf(asterisk, call),
    expectRefused: async (call) => {
      const hangup = await poll(() => hangupOf(asterisk, call), 'the refused call hung up', 10_000);
      assert.is(hangup.query.reason_code, '34', JSON.stringify(hangup.query));
      // Refused before anything was set up for it: no answer, no media channel, no bridge with it.
      const touched = asterisk.requests.filter((r) => r.path.includes(call.id) && r !== hangup);
      assert.equal(touched.map((r) => `${r.method} ${r.path}`), []);
    },
    alive: (call) => asterisk.liveChannelIds().includes(call.id),
    hangUp: (call) => asterisk.callerHangup(call.id),
    pbxCallId: (call) => call.id,
  };
}

test('past maxCalls an Asterisk call is hung up with cause 34 before any media; after a call ends the next is admitted', async () => {
  await withAsterisk({ maxCalls: 2 }, (app, asterisk) => checkAdmission(app, asteriskWire(asterisk), 2));
});

test('with server.overflowTarget the refused call continues in the dialplan there instead', async () => {
  await withAsterisk({ maxCalls: 1, overflowTarget: 'overflow,s,1' }, async (app, asterisk) => {
    const first = asterisk.placeInboundCall({ callerNumber: '13800138001' });
    await poll(() => (first.line?.heardAudioFrames ?? 0) > 0, 'one call running', 15_000);
    const second = asterisk.placeInboundCall({ callerNumber: '13800138002' });
    const cont = await poll(() => asterisk.requests.find((r) => r.path === `/ari/channels/${second.id}/continue`), 'continue to the overflow extension', 10_000);
    assert.is(cont.query.context, 'overflow');
    assert.is(cont.query.extension, 's');
    assert.is(cont.query.priority, '1');
    assert.not.ok(hangupOf(asterisk, second), 'not hung up');
    assert.is(await refusedCount(app, 'asterisk'), 1);
  });
});

test.run();
