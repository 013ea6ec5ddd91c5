import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../src/app.ts';
import { configSchema } from '../../src/config/index.ts';
import { newCallId } from '../../src/core/index.ts';
import { FakeAsterisk } from '../pbx/asterisk/peer/fake-asterisk.ts';
import { issueToken } from '../support/auth.ts';
import { bearer } from '../support/auth.ts';
import { freePort, MODELS, readTestWav, REPO_ROOT, until } from '../support/e2e.ts';
import { callControlClient, statusOf, tokenMetadata, unary, type Client } from './grpc-client.ts';
import { testLog } from '../support/run-log.ts';

const ZH_WAV = 'zh-0008.wav';
const log = testLog();

interface WireEvent {
  callId: string;
  type: string;
  text: string;
  disposition: string;
  endedBy: string;
  from: string;
  direction: string;
}

/** One app with gRPC on for the file (the models load once), on a fake Asterisk replaying captured ARI (20x faster ringing). */
const asterisk = new FakeAsterisk({ timeScale: 0.05 });
const dir = mkdtempSync(join(tmpdir(), 'callpilot-grpc-control-'));
let app: CallpilotApp | undefined;
let client: Client | undefined;

test.before(async () => {
  await asterisk.start();
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: await freePort() },
    grpc: { enabled: true, port: 0 },
    store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
    media: { record: false },
    dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
    pbx: { asterisk: { url: asterisk.url, username: 'bot', password: 'bot', app: 'bot', media: 'websocket', mediaBindHost: '127.0.0.1' } },
  });
  app = await startCallpilot(config, { log, modelsRoot: MODELS, cwd: REPO_ROOT });
  await until(() => app?.adapters[0]?.ready === true, 'ARI connected', 10000);
  assert.ok(app.grpc, 'gRPC server started');
  client = callControlClient(app.grpc.address);
});

test.after(async () => {
  client?.close();
  await app?.close();
  await asterisk.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function withApp(run: (app: CallpilotApp, asterisk: FakeAsterisk, client: Client) => Promise<void>): Promise<void> {
  await run(app!, asterisk, client!);
}

/** SubscribeCallEvents as a list that fills while the stream runs; resolves once the server took the subscription. */
async function subscribe(client: Client, token: string, req: { callId?: string; includePartials?: boolean } = {}): Promise<{ events: WireEvent[]; ended: Promise<grpc.StatusObject>; cancel: () => void }> {
  const events: WireEvent[] = [];
  const call = (client.SubscribeCallEvents as (r: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<WireEvent>)(req, tokenMetadata(token));
  call.on('data', (e) => events.push(e));
  call.on('error', () => undefined);
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  const taken = await new Promise<grpc.StatusObject | undefined>((resolve) => {
    call.on('metadata', () => resolve(undefined));
    void ended.then(resolve);
  });
  if (taken) throw new Error(`subscription refused: ${taken.details}`);
  return { events, ended, cancel: () => call.cancel() };
}

test('Originate, PlayPrompt and Transfer over gRPC on the Asterisk peer; a call-scoped subscription follows it to its end', async () => {
  await withApp(async (app, asterisk, client) => {
    const operator = await issueToken(app.store, 'operator');
    const all = await subscribe(client, operator);
    const { callId } = await unary<{ callId: string }>(client, 'Originate', { endpoint: 'PJSIP/sipp-uas', flow: 'demo', lang: 'zh', variables: { customer: 'c-9' } }, tokenMetadata(operator));
    assert.ok(callId, 'call id returned');
    await until(() => all.events.some((e) => e.callId === callId && e.type === 'botAudioStart'), 'the greeting to start', 15000);
    const started = all.events.find((e) => e.callId === callId && e.type === 'started');
    assert.ok(started, 'started event');
    assert.is(started!.direction, 'outbound');
    const one = await subscribe(client, operator, { callId });

    await unary(client, 'PlayPrompt', { callId, text: '请稍等。' }, tokenMetadata(operator));
    assert.ok(one.events.some((e) => e.type === 'bot' && e.text === '请稍等。'), 'the prompt was spoken as the bot');

    const pbxCallId = (await app.store.calls.getCall(callId))!.pbxCallId!;
    await unary(client, 'Transfer', { callId, target: 'agents,8001', reason: 'customer asked' }, tokenMetadata(operator));
    const status = await one.ended;
    assert.is(status.code, grpc.status.OK, 'the call-scoped stream ends with the call');
    const end = one.events.find((e) => e.type === 'end');
    assert.is(end?.disposition, 'transferred');
    assert.is(end?.endedBy, 'transfer');
    const cont = asterisk.requests.find((r) => r.method === 'POST' && r.path === `/ari/channels/${pbxCallId}/continue`);
    assert.ok(cont, 'ARI continue to the dialplan');
    assert.is(cont!.query.context, 'agents');
    assert.is(cont!.query.extension, '8001');
    await until(async () => (await app.store.calls.getCall(callId))?.status === 'ended', 'the call to be stored as ended', 10000);
    assert.is((await app.store.calls.getCall(callId))!.disposition, 'transferred');
    const audit = await app.auth.audit.list({});
    assert.ok(audit.some((a) => a.action === 'call.originate' && a.target === callId && a.detail.via === 'grpc'));
    assert.ok(audit.some((a) => a.action === 'call.transfer' && a.target === callId));
    assert.ok(audit.some((a) => a.action === 'call.prompt' && a.target === callId));
    all.cancel();
  });
});

test('Hangup over gRPC ends a live inbound call on the PBX; subscribers without unmask see the caller number masked', async () => {
  await withApp(async (app, asterisk, client) => {
    const operator = await issueToken(app.store, 'operator');
    const auditor = await issueToken(app.store, 'auditor');
    const admin = await issueToken(app.store, 'admin');
    const masked = await subscribe(client, auditor);
    const full = await subscribe(client, admin);
    const ch = asterisk.placeInboundCall({ args: ['flow=demo', 'lang=zh'], callerNumber: '13800138000' });
    await until(() => masked.events.some((e) => e.type === 'botAudioStart'), 'the greeting to start', 15000);
    const callId = masked.events.find((e) => e.type === 'started')!.callId;
    assert.is(masked.events.find((e) => e.type === 'started')!.from, '138****8000');
    assert.is(full.events.find((e) => e.type === 'started')!.from, '13800138000');

    // The caller answers something: VAD, endpointer and ASR final run (timed by the stage metrics).
    asterisk.callerSays(ch.id, readTestWav(ZH_WAV));
    await until(() => masked.events.some((e) => e.type === 'final'), 'a final transcript', 20000);
    assert.is(await statusOf(unary(client, 'Hangup', { callId }, tokenMetadata(auditor))), grpc.status.PERMISSION_DENIED, 'auditors only watch');
    await unary(client, 'Hangup', { callId }, tokenMetadata(operator));
    await until(() => masked.events.some((e) => e.type === 'end'), 'the end event', 10000);
    assert.is(masked.events.find((e) => e.type === 'end')!.disposition, 'operator_hangup');
    assert.ok(asterisk.requests.some((r) => r.method === 'DELETE' && r.path === `/ari/channels/${ch.id}`), 'ARI hangup of the caller channel');
    await until(async () => (await app.store.calls.getCall(callId))?.status === 'ended', 'the call to be stored as ended', 10000);
    assert.is((await app.store.calls.getCall(callId))!.disposition, 'operator_hangup');
    assert.is(await statusOf(unary(client, 'Hangup', { callId }, tokenMetadata(operator))), grpc.status.NOT_FOUND, 'an ended call is no longer live');
    masked.cancel();
    full.cancel();
  });
});

test('CallControl refuses what REST refuses: no token, wrong role, bad ids, bad originate requests (nothing dialled)', async () => {
  await withApp(async (app, asterisk, client) => {
    const operator = await issueToken(app.store, 'operator');
    const auditor = await issueToken(app.store, 'auditor');
    const pbx = await issueToken(app.store, 'pbx');
    const callsBefore = (await app.store.calls.listCalls()).length;
    const dialsBefore = asterisk.requests.filter((r) => r.method === 'POST' && r.path === '/ari/channels').length;
    const originate = { endpoint: 'PJSIP/sipp-uas', flow: 'demo', lang: 'zh' };
    assert.is(await statusOf(unary(client, 'Originate', originate, tokenMetadata(undefined))), grpc.status.UNAUTHENTICATED);
    assert.is(await statusOf(unary(client, 'Originate', originate, tokenMetadata('cpt_forged'))), grpc.status.UNAUTHENTICATED);
    assert.is(await statusOf(unary(client, 'Originate', originate, tokenMetadata(auditor))), grpc.status.PERMISSION_DENIED);
    assert.is(await statusOf(unary(client, 'Originate', originate, tokenMetadata(pbx))), grpc.status.PERMISSION_DENIED);
    const refused = await subscribe(client, pbx).then(
      () => 'subscribed',
      (err: Error) => err.message,
    );
    assert.match(refused, 'may not call SubscribeCallEvents');
    assert.is(await statusOf(unary(client, 'Originate', { ...originate, endpoint: '' }, tokenMetadata(operator))), grpc.status.INVALID_ARGUMENT);
    assert.is(await statusOf(unary(client, 'Originate', { ...originate, flow: 'nonexistent' }, tokenMetadata(operator))), grpc.status.INVALID_ARGUMENT);
    assert.is(await statusOf(unary(client, 'Originate', { ...originate, lang: 'fr' }, tokenMetadata(operator))), grpc.status.INVALID_ARGUMENT);
    assert.is(await statusOf(unary(client, 'Hangup', { callId: '../../etc' }, tokenMetadata(operator))), grpc.status.INVALID_ARGUMENT);
    assert.is(await statusOf(unary(client, 'PlayPrompt', { callId: newCallId(), text: 'hi' }, tokenMetadata(operator))), grpc.status.NOT_FOUND);
    assert.is((await app.store.calls.listCalls()).length, callsBefore, 'nothing stored');
    assert.is(asterisk.requests.filter((r) => r.method === 'POST' && r.path === '/ari/channels').length, dialsBefore, 'nothing dialled');
  });
});

test('GET /metrics after those calls: labelled call counters, transfers, PBX state, stage timings, build info, standard process metrics', async () => {
  const admin = await issueToken(app!.store, 'admin');
  const res = await fetch(`${app!.url}/metrics`, { headers: bearer(admin) });
  assert.is(res.status, 200);
  const text = await res.text();
  const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const labels = 'flow="demo",lang="zh",pbx="asterisk",transport="websocket"';
  assert.is(value(new RegExp(`^callpilot_calls_total\\{disposition="transferred",${labels}\\} (\\d+)`, 'm')), 1, 'the transferred call');
  assert.is(value(new RegExp(`^callpilot_calls_total\\{disposition="operator_hangup",${labels}\\} (\\d+)`, 'm')), 1, 'the call hung up over gRPC');
  assert.is(value(new RegExp(`^callpilot_transfers_total\\{${labels}\\} (\\d+)`, 'm')), 1);
  assert.ok(value(new RegExp(`^callpilot_turns_total\\{${labels}\\} (\\d+)`, 'm')) >= 1, 'turns by flow/lang/pbx/transport');
  assert.is(value(/^callpilot_pbx_connected\{pbx="asterisk"\} (\d+)/m), 1);
  assert.is(value(/^callpilot_active_calls\{pbx="asterisk",transport="websocket"\} (\d+)/m), 0);
  assert.ok(value(/^callpilot_stage_duration_seconds_count\{stage="vad"\} (\d+)/m) > 100, 'VAD timed per frame');
  assert.ok(value(/^callpilot_stage_duration_seconds_count\{stage="asr_final"\} (\d+)/m) >= 1, 'ASR final timed');
  assert.ok(value(/^callpilot_stage_duration_seconds_count\{stage="tts"\} (\d+)/m) >= 1, 'TTS sentences timed');
  assert.match(text, /^callpilot_build_info\{version="[^"]+",node_version="[0-9.]+"\} 1$/m);
  assert.match(text, /^callpilot_asr_real_time_factor_ratio /m);
  assert.match(text, /^process_cpu_seconds_total /m);
  assert.not.match(text, /callpilot_process_|callpilot_nodejs_/);
  assert.not.match(text, /^callpilot_asr_real_time_factor /m);
});

test.run();
