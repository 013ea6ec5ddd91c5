import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HangupInfo } from '../../../src/pbx/types.ts';
import { startHarness } from './harness.ts';
import { until } from '../../support/wait.ts';
import type { OutboundOutcome } from './peer/fake-asterisk.ts';

// Captured delays (5 s ring-out, 32 s Timer B) are replayed 20x faster.
const peer = { timeScale: 0.05 };

const cases: Array<[OutboundOutcome, string, number]> = [
  ['busy', 'busy', 17],
  ['no-answer', 'no-answer', 19],
  ['unreachable', 'unreachable', 18],
  ['unreachable-timeout', 'unreachable', 19],
];

for (const [outcome, disposition, cause] of cases) {
  test(`outbound: recorded '${outcome}' maps to ${disposition} with cause ${cause}`, async () => {
    const h = await startHarness({}, peer);
    try {
      h.asterisk.outboundOutcome = outcome;
      const result = await h.adapter.originate({ endpoint: 'PJSIP/sipp-uas', callerId: '"Voice Bot" <1000>', timeoutSec: 5, flow: 'demo', lang: 'en' });
      assert.is(result.disposition, disposition);
      if (result.disposition !== 'answered') assert.is(result.cause, cause);
      assert.is(h.adapter.activeCalls, 0);
    } finally {
      await h.close();
    }
  });
}

test('outbound: answered call carries request variables, app args and caller id; early media ignored until StasisStart', async () => {
  const h = await startHarness({}, peer);
  try {
    h.asterisk.outboundOutcome = 'answered';
    const result = await h.adapter.originate({
      endpoint: 'PJSIP/sipp-uas',
      callerId: '"Voice Bot" <1000>',
      timeoutSec: 30,
      flow: 'overdue-reminder',
      lang: 'zh',
      variables: { X_BOT_CALL: 'fixture-1' },
    });
    assert.is(result.disposition, 'answered');
    if (result.disposition !== 'answered') return;
    const call = result.call;
    assert.is(call.info.direction, 'outbound');
    assert.is(call.info.flow, 'overdue-reminder');
    assert.is(call.info.lang, 'zh');
    assert.is(call.info.variables.X_BOT_CALL, 'fixture-1');
    const req = h.asterisk.requests.find((r) => r.method === 'POST' && r.path === '/ari/channels');
    assert.ok(req);
    assert.is(req.query.endpoint, 'PJSIP/sipp-uas');
    assert.is(req.query.app, 'bot');
    assert.is(req.query.appArgs, 'flow=overdue-reminder,lang=zh');
    assert.is(req.query.callerId, '"Voice Bot" <1000>');
    assert.is(req.query.timeout, '30');
    assert.equal((req.body as { variables: Record<string, string> }).variables, { X_BOT_CALL: 'fixture-1' });
    // The channel is Up already; answer() must not POST /answer.
    await call.answer();
    assert.not.ok(h.asterisk.requests.some((r) => r.path.endsWith('/answer')));
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    await h.asterisk.callerHangup(call.info.pbxCallId);
    assert.equal(await hung, { cause: 16, causeText: 'Normal Clearing', by: 'caller' });
  } finally {
    await h.close();
  }
});

test('outbound: unknown technology is a 500 "Allocation failed" -> failed, no channel left', async () => {
  const h = await startHarness({}, peer);
  try {
    const result = await h.adapter.originate({ endpoint: 'Bogus/nothing' });
    assert.is(result.disposition, 'failed');
    if (result.disposition !== 'answered') assert.match(result.causeText, /Allocation failed/);
    assert.equal(h.asterisk.liveChannelIds(), []);
  } finally {
    await h.close();
  }
});

test('outbound: stopping the adapter while ringing cancels the attempt', async () => {
  const h = await startHarness({}, { timeScale: 1 });
  try {
    h.asterisk.outboundOutcome = 'no-answer';
    const pending = h.adapter.originate({ endpoint: 'PJSIP/sipp-uas', timeoutSec: 5 });
    await until(() => h.asterisk.liveChannelIds().length === 1, 'ringing channel', 2000);
    await h.adapter.stop();
    const result = await pending;
    assert.is(result.disposition, 'cancelled');
    const del = h.asterisk.requests.find((r) => r.method === 'DELETE');
    assert.ok(del, 'the ringing channel was hung up');
  } finally {
    await h.asterisk.stop();
  }
});

test('outbound: not connected to ARI -> failed without dialling', async () => {
  const h = await startHarness({}, peer, false);
  try {
    const result = await h.adapter.originate({ endpoint: 'PJSIP/sipp-uas' });
    assert.is(result.disposition, 'failed');
    assert.is(h.asterisk.requests.length, 0);
  } finally {
    await h.close();
  }
});

test.run();
