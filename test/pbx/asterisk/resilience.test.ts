import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HangupInfo, TransferOutcome } from '../../../src/pbx/types.ts';
import { AsteriskAdapter } from '../../../src/pbx/asterisk/index.ts';
import { asteriskConfigSchema } from '../../../src/pbx/config.ts';
import { capturingTestLog } from '../../support/run-log.ts';
import { nextCall, rms, silent, sleep, startHarness, tone } from './harness.ts';
import { until } from '../../support/wait.ts';
import { FakeAsterisk } from './peer/fake-asterisk.ts';

test('malformed ARI events are logged and skipped; the adapter keeps working', async () => {
  const { log, lines } = capturingTestLog();
  const h = await startHarness({}, {}, true, log);
  try {
    h.asterisk.sendRawEvent('this is not json');
    h.asterisk.sendRawEvent('{"type":"StasisStart","args":[]}');
    h.asterisk.sendRawEvent('{"type":"ChannelDestroyed","channel":{"id":"x","name":"PJSIP/x","state":"Up"}}');
    h.asterisk.sendRawEvent('[1,2,3]');
    h.asterisk.sendRawEvent('{"type":"SomethingNew","foo":1}');
    await until(() => lines.filter((l) => l.msg === 'ignoring a malformed ARI event').length === 4, 'four warnings', 2000);
    const reasons = lines.filter((l) => l.msg === 'ignoring a malformed ARI event').map((l) => l.error as string);
    assert.match(reasons[0], /not JSON/);
    assert.match(reasons[1], /StasisStart without a valid channel/);
    assert.match(reasons[2], /ChannelDestroyed without a numeric cause/);
    assert.match(reasons[3], /without a type/);
    assert.ok(h.adapter.ready);
    const callP = nextCall(h.adapter);
    h.asterisk.placeInboundCall();
    await callP;
  } finally {
    await h.close();
  }
});

test('events socket dropped mid-call (1006): reconnects, the call and its media carry on', async () => {
  const h = await startHarness({ media: 'websocket' });
  try {
    const callP = nextCall(h.adapter);
    const ch = h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    const leg = await call.openMedia();
    const readiness: boolean[] = [];
    h.adapter.on('ready', (r) => readiness.push(r));
    h.asterisk.dropEventSockets(1006);
    await until(() => readiness.length >= 2 && h.adapter.ready, 'reconnected', 5000);
    assert.equal(readiness.slice(0, 2), [false, true]);
    assert.is(h.asterisk.eventSocketCount, 1);
    const frames: Int16Array[] = [];
    leg.on('frame', (f) => frames.push(f.slice()));
    h.asterisk.callerSays(ch.id, tone(8000, 200));
    await until(() => frames.some((f) => rms(f) > 2000), 'caller audio after reconnect', 2000);
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    await h.asterisk.callerHangup(ch.id);
    assert.is((await hung).by, 'caller');
    await until(() => h.asterisk.liveChannelIds().length === 0 && h.asterisk.liveBridgeIds().length === 0, 'clean', 2000);
  } finally {
    await h.close();
  }
});

test('caller hangs up while the events socket is down: reconciliation ends the call and removes its media', async () => {
  const h = await startHarness({ media: 'websocket' });
  try {
    const callP = nextCall(h.adapter);
    const ch = h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    const leg = await call.openMedia();
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    h.asterisk.dropEventSockets(1000);
    await h.asterisk.callerHangup(ch.id); // its events go nowhere
    const info = await hung;
    assert.is(info.by, 'pbx');
    assert.match(info.causeText, /disconnected/);
    assert.ok(leg.closed);
    await until(() => h.asterisk.liveChannelIds().length === 0 && h.asterisk.liveBridgeIds().length === 0, 'no orphans', 3000);
  } finally {
    await h.close();
  }
});

test('Asterisk restart mid-call: shutdown hangup, refused connects, 503 while booting, then ready with nothing orphaned', async () => {
  const h = await startHarness({ media: 'rtp' });
  try {
    const callP = nextCall(h.adapter);
    h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    const leg = await call.openMedia();
    const reasons: Array<string | undefined> = [];
    h.adapter.on('ready', (r, why) => reasons.push(r ? 'ready' : why));
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    const restarted = h.asterisk.restart(300);
    const info = await hung;
    assert.is(info.by, 'pbx');
    assert.match(info.causeText, /shutting down/);
    await restarted;
    await until(() => h.adapter.ready, 'ready after restart', 15000);
    assert.ok(leg.closed);
    assert.ok(reasons.some((r) => r !== undefined && /ARI not connected/.test(r)), `reasons: ${JSON.stringify(reasons)}`);
    assert.equal(h.asterisk.liveChannelIds(), []);
    assert.equal(h.asterisk.liveBridgeIds(), []);
    // And it takes calls again.
    const again = nextCall(h.adapter);
    h.asterisk.placeInboundCall();
    assert.ok(await again);
  } finally {
    await h.close();
  }
});

test('bad credentials: not ready with the reason, and no retry storm', async () => {
  const asterisk = new FakeAsterisk();
  await asterisk.start();
  const { log, lines } = capturingTestLog();
  const cfg = asteriskConfigSchema.parse({ url: asterisk.url, username: 'bot', password: 'wrong', app: 'bot' });
  const adapter = new AsteriskAdapter(cfg, { log });
  try {
    await adapter.start();
    assert.is(adapter.ready, false);
    assert.match(adapter.notReadyReason ?? '', /credentials rejected/);
    const count = asterisk.requests.length;
    await sleep(1200);
    assert.is(asterisk.requests.length, count, 'no further attempts');
    assert.ok(lines.some((l) => (l.level === 'error' || l.level === 'fatal') && /refused the credentials/.test(l.msg)));
  } finally {
    await adapter.stop();
    await asterisk.stop();
  }
});

test('ARI unreachable at start: not ready with a reason, connects when Asterisk comes up', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const cfg = asteriskConfigSchema.parse({ url: `http://127.0.0.1:${port}`, username: 'bot', password: 'bot', app: 'bot' });
  const adapter = new AsteriskAdapter(cfg, { log: silent });
  const asterisk = new FakeAsterisk();
  try {
    await adapter.start();
    assert.is(adapter.ready, false);
    assert.match(adapter.notReadyReason ?? '', /ECONNREFUSED/);
    await asterisk.start(port);
    await until(() => adapter.ready, 'ready once Asterisk listens', 15000);
  } finally {
    await adapter.stop();
    await asterisk.stop();
  }
});

test('orphan bridges of this app are destroyed on connect', async () => {
  const h = await startHarness({}, {}, false);
  try {
    const auth = { authorization: `Basic ${Buffer.from('bot:bot').toString('base64')}` };
    const res = await fetch(`${h.asterisk.url}/ari/bridges?type=mixing&name=callpilot-stale`, { method: 'POST', headers: auth });
    assert.is(res.status, 200);
    await fetch(`${h.asterisk.url}/ari/bridges?type=mixing&name=someone-else`, { method: 'POST', headers: auth });
    assert.is((await fetch(`${h.asterisk.url}/ari/bridges?type=mixing&name=callpilot/bot/stale-call`, { method: 'POST', headers: auth })).status, 200);
    // Another callpilot node's bridge on the same Asterisk (its own ARI app).
    await fetch(`${h.asterisk.url}/ari/bridges?type=mixing&name=callpilot/node-b/live-call`, { method: 'POST', headers: auth });
    await h.adapter.start();
    await until(() => h.adapter.ready, 'ready', 5000);
    assert.is(h.asterisk.liveBridgeIds().length, 2, 'only the foreign bridges are left');
  } finally {
    await h.close();
  }
});

test('transfer to the configured dialplan target: transcript variable, continue, media torn down', async () => {
  const h = await startHarness({ media: 'audiosocket', transfer: { context: 'agents', extension: '200', priority: 1 } });
  try {
    const callP = nextCall(h.adapter);
    const ch = h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    const leg = await call.openMedia();
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    await call.transfer(undefined as never, 'caller asked for an agent; owes 3000');
    const info = await hung;
    assert.is(info.by, 'bot');
    assert.match(info.causeText, /Transferred to agents,200,1/);
    assert.is(h.asterisk.channel(ch.id)?.variables.CALLPILOT_TRANSCRIPT, 'caller asked for an agent; owes 3000');
    const cont = h.asterisk.requests.find((r) => r.path.endsWith('/continue'));
    assert.equal([cont?.query.context, cont?.query.extension, cont?.query.priority], ['agents', '200', '1']);
    assert.ok(leg.closed);
    await until(() => h.asterisk.liveBridgeIds().length === 0, 'bridge gone', 2000);
    assert.is(h.asterisk.channel(ch.id)?.inStasis, false);
  } finally {
    await h.close();
  }
});

test('transfer to an endpoint on an answered call redirects (REFER) and ends the bot side', async () => {
  const h = await startHarness();
  try {
    const callP = nextCall(h.adapter);
    const ch = h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    await call.transfer({ kind: 'endpoint', endpoint: 'PJSIP/agent-1' });
    assert.match((await hung).causeText, /PJSIP\/agent-1/);
    const redirect = h.asterisk.requests.find((r) => r.path === `/ari/channels/${ch.id}/redirect`);
    assert.is(redirect?.query.endpoint, 'PJSIP/agent-1');
    assert.is(redirect?.status, 204);
  } finally {
    await h.close();
  }
});

test('a transfer Asterisk refuses (422) is reported failed and the caller is hung up, not left in silence', async () => {
  const h = await startHarness();
  try {
    const callP = nextCall(h.adapter);
    const ch = h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    await call.openMedia();
    const outcome = new Promise<TransferOutcome>((resolve) => call.once('transferOutcome', resolve));
    const refused = await call.transfer({ kind: 'endpoint', endpoint: 'IAX2/agent-1' }).then(
      () => false,
      () => true,
    );
    assert.ok(refused, 'the transfer rejects');
    const o = await outcome;
    assert.is(o.result, 'failed');
    assert.match(o.detail ?? '', /422|technology/);
    // The dialog's error path hangs up; the refused transfer must not swallow it.
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    await call.hangup(16);
    assert.is((await hung).by, 'bot');
    assert.ok(h.asterisk.requests.some((r) => r.method === 'DELETE' && r.path === `/ari/channels/${ch.id}`), 'the caller is hung up');
  } finally {
    await h.close();
  }
});

test.run();
