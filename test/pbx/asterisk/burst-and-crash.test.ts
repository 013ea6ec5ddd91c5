import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioLeg } from '../../../src/media/index.ts';
import { ariEndpointOf } from '../../../src/pbx/asterisk/asterisk-adapter.ts';
import { addToBridge } from '../../../src/pbx/asterisk/asterisk-call.ts';
import type { HangupInfo, PbxCall } from '../../../src/pbx/types.ts';
import { silent, sleep, startHarness, tone } from './harness.ts';
import { until } from '../../support/wait.ts';

test('AudioSocket burst: 30 calls at 10/s, half of them silent at first (DTX), StasisStart late: every caller hears the bot', async () => {
  // The media channel's StasisStart comes after the REST reply (captured -15..+4 ms); an addChannel in that window
  // would get 422 and leave a leg that only ever delivers its UUID.
  const h = await startHarness({ media: 'audiosocket' }, { mediaStasisDelayMs: 4 });
  const legs: AudioLeg[] = [];
  const failures: string[] = [];
  try {
    const calls: Promise<void>[] = [];
    h.adapter.on('call', (call: PbxCall) => {
      calls.push(
        (async () => {
          await call.answer();
          const leg = await call.openMedia();
          legs.push(leg);
          leg.play(tone(8000, 400, 600));
        })().catch((err: Error) => void failures.push(err.message)),
      );
    });
    const channels: ReturnType<typeof h.asterisk.placeInboundCall>[] = [];
    for (let i = 0; i < 30; i++) {
      channels.push(h.asterisk.placeInboundCall({ silenceSuppression: i % 2 === 0 }));
      await sleep(100);
    }
    await until(() => calls.length === 30, '30 calls offered', 5000);
    await Promise.all(calls);
    assert.equal(failures, [], 'every media set-up succeeded');
    await until(() => channels.every((c) => (c.line?.heardAudioFrames ?? 0) >= 15), 'every caller hearing the bot', 10000);
    const addChannel422 = h.asterisk.requests.filter((r) => r.path.endsWith('/addChannel') && r.status === 422);
    assert.is(addChannel422.length, 0, 'no addChannel before the media channel was in Stasis');
    assert.is(legs.length, 30);
    for (const [i, c] of channels.entries()) {
      const socket = findAudioSocket(h, c.id);
      // Silence on connect: callpilot speaks first, before any caller audio and before the greeting (an order of
      // events, which a busy machine cannot change).
      assert.is(socket?.firstBotFrameSilent, true, `call ${i}: the bot's first frame was silence sent on connect`);
      if (i % 2 === 0) assert.ok((c.line?.framesWithheld ?? 0) > 0, `call ${i} really sent no RTP while silent`);
    }
  } finally {
    await h.close();
  }
});

function findAudioSocket(h: Awaited<ReturnType<typeof startHarness>>, callerId: string): { firstBotFrameSilent?: boolean } | undefined {
  const bridgeId = h.asterisk.channel(callerId)?.bridgeId;
  const channels = (h.asterisk as unknown as { channels: Map<string, { bridgeId?: string; audioSocket?: { firstBotFrameSilent?: boolean } }> }).channels;
  return [...channels.values()].find((c) => c.audioSocket && c.bridgeId === bridgeId)?.audioSocket;
}

test('addChannel answered 422 (not in Stasis yet) is retried until the channel is in Stasis', async () => {
  const h = await startHarness({ media: 'audiosocket' }, { mediaStasisDelayMs: 150 });
  try {
    const rest = (h.adapter as unknown as { conn: { rest: Parameters<typeof addToBridge>[0] } }).conn.rest;
    const bridge = await rest.createBridge('race-bridge', 'callpilot-race');
    const server = (h.adapter as unknown as { audioSocket: { server: { expect(uuid: string, claim: () => void): void }; port: number } }).audioSocket;
    const uuid = '0c0ffee0-1234-4abc-8def-000000000001';
    server.server.expect(uuid, () => undefined);
    await rest.externalMedia({ app: 'bot', channelId: 'race-media', transport: 'tcp', encapsulation: 'audiosocket', externalHost: `127.0.0.1:${server.port}`, data: uuid, format: 'slin' });
    // Right after the reply, as the no-stasis-wait capture did: Asterisk says 422 ...
    const early = await rest.addChannel(bridge.id, 'race-media').catch((err: Error) => err);
    assert.instance(early, Error);
    assert.match((early as Error).message, /not in Stasis/);
    // ... and the retry gets it in once StasisStart has happened.
    await addToBridge(rest, bridge.id, 'race-media', () => false);
    const statuses = h.asterisk.requests.filter((r) => r.path.endsWith('/addChannel')).map((r) => r.status);
    assert.is(statuses.at(-1), 204);
    assert.ok(statuses.filter((s) => s === 422).length >= 2, `statuses ${statuses.join(',')}`);
  } finally {
    await h.close();
  }
});

test('Asterisk crash (kill -9): calls end at once with cause 38, teardown does not wait out request deadlines, 38 confirmed after the restart', async () => {
  // ARI requests get an hour's deadline here: a teardown that waited on one would never end, and the hang guard
  // below says so; one that ends proves no deadline was waited out, whatever the machine's load.
  const h = await startHarness({ media: 'websocket' }, {}, true, silent, { ariRequestTimeoutMs: 3_600_000 });
  try {
    const callP = new Promise<PbxCall>((resolve) => h.adapter.once('call', resolve));
    h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    const leg = await call.openMedia();
    const updates: HangupInfo[] = [];
    call.on('causeUpdate', (u) => updates.push(u));
    const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
    // Down until the call is over: nothing Asterisk could answer may be what ends it.
    const crash = h.asterisk.crash(-1);
    let ended: HangupInfo | undefined;
    void hung.then((i) => (ended = i));
    // Hang guard only: swagger-client never settles a request on a refused connection.
    await until(() => ended !== undefined, 'the call to end after the crash', 60_000);
    const info = ended!;
    assert.is(info.by, 'pbx');
    assert.is(info.cause, 38);
    await until(() => leg.closed, 'leg closed', 60_000);
    await until(() => h.adapter.activeCalls === 0, 'call released without waiting on Asterisk', 60_000);
    await crash;
    await h.asterisk.restartAfterCrash();
    await until(() => h.adapter.ready, 'ready after the restart', 20000);
    await until(() => updates.length > 0, 'cause confirmed after reconnecting', 5000);
    assert.is(updates[0]?.cause, 38);
    assert.match(updates[0]?.causeText ?? '', /restarted/);
  } finally {
    await h.close();
  }
});

test('endpoint check: ARI says which endpoints exist; dial strings map to their endpoint', async () => {
  assert.equal(ariEndpointOf('PJSIP/13800138000@trunk'), { tech: 'PJSIP', resource: 'trunk' });
  assert.equal(ariEndpointOf('PJSIP/trunk/sip:13800138000@carrier.example'), { tech: 'PJSIP', resource: 'trunk' });
  assert.equal(ariEndpointOf('PJSIP/sipp-uas'), { tech: 'PJSIP', resource: 'sipp-uas' });
  assert.is(ariEndpointOf('Local/100@from-internal'), undefined);
  assert.is(ariEndpointOf('nonsense'), undefined);
  assert.is(ariEndpointOf('IAX2/10.0.0.5/100'), undefined);
  const h = await startHarness();
  try {
    assert.is((await h.adapter.checkEndpoint('PJSIP/sipp-uas')).status, 'exists');
    assert.is((await h.adapter.checkEndpoint('PJSIP/13800138000@sipp-uas')).status, 'exists');
    const missing = await h.adapter.checkEndpoint('PJSIP/no-such-endpoint');
    assert.is(missing.status, 'missing');
    assert.match(missing.detail ?? '', /no endpoint PJSIP\/no-such-endpoint/);
    const badTech = await h.adapter.checkEndpoint('IAX2/somewhere');
    assert.is(badTech.status, 'missing');
    const local = await h.adapter.checkEndpoint('Local/100@default');
    assert.is(local.status, 'unknown');
    assert.match(local.detail ?? '', /100@default/);
    assert.is((await h.adapter.checkEndpoint('IAX2/10.0.0.5/100')).status, 'unknown', 'a host dialled directly has no endpoint object');
    assert.is((await h.adapter.checkEndpoint('DAHDI/g1/13800138000')).status, 'unknown');
    const invalid = await h.adapter.checkEndpoint('13800138000');
    assert.is(invalid.status, 'invalid');
    assert.match(invalid.detail ?? '', /TECH\/resource/);
    assert.is((await h.adapter.checkEndpoint('PJSIP/sipp-uas&PJSIP/sipp')).status, 'invalid');
    // No GET /endpoints was needed for forms ARI has no object for.
    assert.not.ok(h.asterisk.requests.some((r) => r.path.startsWith('/ari/endpoints/Local') || r.path.startsWith('/ari/endpoints/DAHDI')));
    // And an originate to it is refused by Asterisk itself, as captured.
    const result = await h.adapter.originate({ endpoint: 'PJSIP/no-such-endpoint' });
    assert.is(result.disposition, 'failed');
  } finally {
    await h.close();
  }
});

test.run();
