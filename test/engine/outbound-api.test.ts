import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../src/app.ts';
import { configSchema } from '../../src/config/index.ts';
import { FakeAsterisk } from '../pbx/asterisk/peer/fake-asterisk.ts';
import { bearer, issueToken } from '../support/auth.ts';
import { freePort, MODELS, REPO_ROOT, until } from '../support/e2e.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();

/** The whole app on a fake Asterisk replaying the captured originate outcomes (20x faster). */
async function withApp(run: (app: CallpilotApp, asterisk: FakeAsterisk) => Promise<void>): Promise<void> {
  const asterisk = new FakeAsterisk({ timeScale: 0.05 });
  await asterisk.start();
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-outbound-'));
  let app: CallpilotApp | undefined;
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: await freePort() },
      store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
      media: { record: false },
      dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
      pbx: { asterisk: { url: asterisk.url, username: 'bot', password: 'bot', app: 'bot', media: 'websocket', mediaBindHost: '127.0.0.1' } },
    });
    app = await startCallpilot(config, { log, modelsRoot: MODELS, cwd: REPO_ROOT });
    await until(() => app?.adapters[0]?.ready === true, 'ARI connected', 60_000); // generous: swagger set-up takes tens of seconds on a loaded 2-core machine
    await run(app, asterisk);
  } finally {
    await app?.close();
    await asterisk.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function placeCall(app: CallpilotApp, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = await issueToken(app.store, 'operator');
  const res = await fetch(`${app.url}/api/calls`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('POST /api/calls to a busy line: the attempt is stored at once, then ended as busy with Q.850 cause 17', async () => {
  await withApp(async (app, asterisk) => {
    asterisk.outboundOutcome = 'busy';
    const { status, json } = await placeCall(app, { endpoint: 'PJSIP/sipp-uas', flow: 'demo', lang: 'zh', variables: { customer: 'c-1' } });
    assert.is(status, 202);
    const callId = String(json.callId);
    const attempt = await app.store.calls.getCall(callId);
    assert.ok(attempt, 'stored before the outcome is known');
    assert.is(attempt!.direction, 'outbound');
    await until(async () => (await app.store.calls.getCall(callId))?.status === 'ended', 'the attempt to end', 10000);
    const ended = (await app.store.calls.getCall(callId))!;
    assert.is(ended.disposition, 'busy');
    assert.is(ended.hangupCause, 17);
    assert.is(ended.variables.customer, 'c-1');
    assert.ok(asterisk.requests.some((r) => r.method === 'POST' && r.path === '/ari/channels' && r.query.endpoint === 'PJSIP/sipp-uas'));
  });
});

test('POST /api/calls answered: the same call record runs the flow, and ends with the far end hanging up', async () => {
  await withApp(async (app, asterisk) => {
    asterisk.outboundOutcome = 'answered';
    const { status, json } = await placeCall(app, { endpoint: 'PJSIP/sipp-uas', flow: 'demo', lang: 'en' });
    assert.is(status, 202);
    const callId = String(json.callId);
    await until(async () => (await app.store.calls.listEvents(callId)).some((e) => e.type === 'botAudioStart'), 'the greeting to start on the answered call', 15000);
    const live = (await app.store.calls.getCall(callId))!;
    assert.ok(live.answeredAt, 'answered');
    assert.ok(live.pbxCallId, 'linked to the ARI channel');
    assert.is((await app.store.calls.listCalls()).length, 1, 'one record for the attempt and the call');
    await asterisk.callerHangup(live.pbxCallId!);
    await until(async () => (await app.store.calls.getCall(callId))?.status === 'ended', 'the call to end', 10000);
    assert.is((await app.store.calls.getCall(callId))!.disposition, 'caller_hangup');
  });
});

test('POST /api/calls with a bad body is a 400 naming the field, and nothing is dialled', async () => {
  await withApp(async (app, asterisk) => {
    const { status, json } = await placeCall(app, { flow: 'demo' });
    assert.is(status, 400);
    assert.match(JSON.stringify(json), /endpoint/);
    // A flow that is not loaded: 400 naming the valid flows, before anything is stored or dialled.
    const unknown = await placeCall(app, { endpoint: 'PJSIP/sipp-uas', flow: 'nonexistent', lang: 'zh' });
    assert.is(unknown.status, 400);
    assert.is(unknown.json.field, 'flow');
    assert.match(String(unknown.json.error), 'unknown flow "nonexistent"');
    assert.ok((unknown.json.valid as string[]).includes('demo'));
    assert.is((await app.store.calls.listCalls()).length, 0, 'no attempt stored');
    assert.not.ok(asterisk.requests.some((r) => r.method === 'POST' && r.path === '/ari/channels'));
  });
});

test('POST /api/calls checks the dial string first: malformed 400, an endpoint Asterisk lacks 422, Local/ dialled unchecked', async () => {
  await withApp(async (app, asterisk) => {
    const dialled = (): number => asterisk.requests.filter((r) => r.method === 'POST' && r.path === '/ari/channels').length;
    const malformed = await placeCall(app, { endpoint: '13800138000', flow: 'demo', lang: 'zh' });
    assert.is(malformed.status, 400);
    assert.match(String(malformed.json.error), /TECH\/resource/);
    const missing = await placeCall(app, { endpoint: 'PJSIP/13800138000@no-such-trunk', flow: 'demo', lang: 'zh' });
    assert.is(missing.status, 422);
    assert.match(String(missing.json.error), /no endpoint PJSIP\/no-such-trunk/);
    assert.is((await app.store.calls.listCalls()).length, 0, 'nothing stored for refused dial strings');
    assert.is(dialled(), 0, 'nothing dialled');
    const local = await placeCall(app, { endpoint: 'Local/100@from-sipp', flow: 'demo', lang: 'zh' });
    assert.is(local.status, 202, 'ARI cannot tell whether a dialplan location exists: dialled, and logged');
    await until(() => dialled() === 1, 'the Local channel originated');
  });
});

test.run();
