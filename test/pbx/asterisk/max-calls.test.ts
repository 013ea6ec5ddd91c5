import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../../src/app.ts';
import { configSchema } from '../../../src/config/index.ts';
import { ScriptedSpeechEngine, ToneSpeaker } from '../../engine/engine-fakes.ts';
import { issueToken } from '../../support/auth.ts';
import { LogLeakDetector } from '../../support/log-leak-detector.ts';
import { REPO_ROOT } from '../../support/e2e.ts';
import { FakeAsterisk } from './peer/fake-asterisk.ts';

/*
 * Issue 9: past server.maxCalls a call Asterisk hands over is refused on the wire, through the real app against
 * the Asterisk peer: hung up with cause 34 (NORMAL_CIRCUIT_CONGESTION), or continued in the dialplan at
 * server.overflowTarget; counted in callpilot_calls_refused_total; admitted again once a call has ended.
 */

/** Polls until `get` gives something truthy, and returns it. */
async function until<T>(get: () => T | Promise<T>, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const log = pino({ level: process.env.CALLPILOT_TEST_LOG ?? 'silent' });

async function withApp(server: Record<string, unknown>, run: (app: CallpilotApp, asterisk: FakeAsterisk) => Promise<void>): Promise<void> {
  const ariPassword = 'ari-pw-5d1e8c7b2a';
  const leaks = process.env.CALLPILOT_TEST_LOG ? undefined : new LogLeakDetector({ secrets: [ariPassword] });
  const asterisk = new FakeAsterisk({ password: ariPassword });
  await asterisk.start();
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-ast-maxcalls-'));
  let app: CallpilotApp | undefined;
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: 0, ...server },
      log: { level: 'silent' },
      store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
      media: { record: false },
      dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh', noInputTimeoutMs: 60_000 },
      pbx: { asterisk: { url: asterisk.url, username: 'bot', password: ariPassword, app: 'bot', media: 'websocket' } },
    });
    app = await startCallpilot(config, { log: leaks?.log ?? log, cwd: REPO_ROOT, speech: new ScriptedSpeechEngine(), speaker: new ToneSpeaker() });
    const started = app;
    await until(() => started.adapters[0]?.ready === true, 'ARI connected', 10_000);
    await run(started, asterisk);
  } finally {
    await app?.close();
    await asterisk.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  leaks?.assertClean('callpilot logs of this test');
}

async function refusedCount(app: CallpilotApp): Promise<number> {
  const token = await issueToken(app.store, 'operator');
  const text = await (await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith('callpilot_calls_refused_total{') && l.includes('wire="asterisk"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test('past maxCalls an Asterisk call is hung up with cause 34 before any media; after a call ends the next is admitted', async () => {
  await withApp({ maxCalls: 2 }, async (app, asterisk) => {
    const first = asterisk.placeInboundCall({ callerNumber: '13800138001' });
    const second = asterisk.placeInboundCall({ callerNumber: '13800138002' });
    await until(() => (first.line?.heardAudioFrames ?? 0) > 0 && (second.line?.heardAudioFrames ?? 0) > 0, 'two calls running', 15_000);

    const third = asterisk.placeInboundCall({ callerNumber: '13800138003' });
    const hangup = await until(
      () => asterisk.requests.find((r) => r.method === 'DELETE' && r.path === `/ari/channels/${third.id}`),
      'the refused call hung up',
      10_000,
    );
    assert.is(hangup.query.reason_code, '34', JSON.stringify(hangup.query));
    // Refused before anything was set up for it: no answer, no media channel, no bridge with it, no row.
    const touched = asterisk.requests.filter((r) => r.path.includes(third.id) && !(r.method === 'DELETE' && r.path === `/ari/channels/${third.id}`));
    assert.equal(touched.map((r) => `${r.method} ${r.path}`), []);
    assert.is(third.line?.heardAudioFrames ?? 0, 0);
    assert.is((await app.store.calls.listCalls()).filter((c) => c.pbxCallId === third.id).length, 0);
    assert.is(await refusedCount(app), 1);
    // The two admitted calls go on.
    assert.ok(asterisk.liveChannelIds().includes(first.id) && asterisk.liveChannelIds().includes(second.id));
    assert.is((await app.store.calls.listCalls({ status: 'active' })).length, 2);

    await asterisk.callerHangup(first.id);
    await until(async () => (await app.store.calls.listCalls({ status: 'ended' })).length === 1, 'call 1 ended', 10_000);
    const fourth = asterisk.placeInboundCall({ callerNumber: '13800138004' });
    await until(() => (fourth.line?.heardAudioFrames ?? 0) > 0, 'a call admitted again below maxCalls', 15_000);
    assert.not.ok(asterisk.requests.some((r) => r.method === 'DELETE' && r.path === `/ari/channels/${fourth.id}`));
    assert.is(await refusedCount(app), 1);
  });
});

test('with server.overflowTarget the refused call continues in the dialplan there instead', async () => {
  await withApp({ maxCalls: 1, overflowTarget: 'overflow,s,1' }, async (app, asterisk) => {
    const first = asterisk.placeInboundCall({ callerNumber: '13800138001' });
    await until(() => (first.line?.heardAudioFrames ?? 0) > 0, 'one call running', 15_000);
    const second = asterisk.placeInboundCall({ callerNumber: '13800138002' });
    const cont = await until(() => asterisk.requests.find((r) => r.path === `/ari/channels/${second.id}/continue`), 'continue to the overflow extension', 10_000);
    assert.is(cont.query.context, 'overflow');
    assert.is(cont.query.extension, 's');
    assert.is(cont.query.priority, '1');
    assert.not.ok(asterisk.requests.some((r) => r.method === 'DELETE' && r.path === `/ari/channels/${second.id}`), 'not hung up');
    assert.is(await refusedCount(app), 1);
  });
});

test.run();
