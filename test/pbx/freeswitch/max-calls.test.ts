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
import { freePort, REPO_ROOT } from '../../support/e2e.ts';
import { FakeFreeswitch } from './peer/fake-freeswitch.ts';

/*
 * Issue 9: past server.maxCalls a call FreeSWITCH parks on callpilot is refused on the ESL wire, through the real
 * app against the FreeSWITCH peer: uuid_kill NORMAL_CIRCUIT_CONGESTION (Q.850 34) without starting any media, or
 * uuid_transfer to server.overflowTarget; counted in callpilot_calls_refused_total.
 */

const log = pino({ level: process.env.CALLPILOT_TEST_LOG ?? 'silent' });

async function until<T>(get: () => T | Promise<T>, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function withApp(server: Record<string, unknown>, run: (app: CallpilotApp, fs: FakeFreeswitch) => Promise<void>): Promise<void> {
  const leaks = process.env.CALLPILOT_TEST_LOG ? undefined : new LogLeakDetector();
  const fs = new FakeFreeswitch({ timeScale: 0.05 });
  const eslPort = await fs.listen();
  const httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-fs-maxcalls-'));
  let app: CallpilotApp | undefined;
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: httpPort, ...server },
      log: { level: 'silent' },
      store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
      media: { record: false },
      dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh', noInputTimeoutMs: 60_000 },
      pbx: { freeswitch: { port: eslPort, mediaUrl: `ws://127.0.0.1:${httpPort}/media/freeswitch` } },
    });
    app = await startCallpilot(config, { log: leaks?.log ?? log, cwd: REPO_ROOT, speech: new ScriptedSpeechEngine(), speaker: new ToneSpeaker() });
    await run(app, fs);
  } finally {
    await app?.close();
    await fs.close();
    rmSync(dir, { recursive: true, force: true });
  }
  leaks?.assertClean('callpilot logs of this test');
}

async function refusedCount(app: CallpilotApp): Promise<number> {
  const token = await issueToken(app.store, 'operator');
  const text = await (await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith('callpilot_calls_refused_total{') && l.includes('wire="freeswitch"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const VARS = { callpilot_flow: 'demo', callpilot_lang: 'zh' };

test('past maxCalls a FreeSWITCH call gets uuid_kill NORMAL_CIRCUIT_CONGESTION and no media; the next call after an end is admitted', async () => {
  await withApp({ maxCalls: 1 }, async (app, fs) => {
    const first = await fs.placeInboundCall({ callerId: '13800138001', variables: VARS });
    await until(() => first.stream !== undefined && first.playbacks.some((p) => p.startedAt !== undefined), 'call 1 streaming and greeted');

    const second = await fs.placeInboundCall({ callerId: '13800138002', variables: VARS });
    await until(() => fs.commands.includes(`api uuid_kill ${second.uuid} NORMAL_CIRCUIT_CONGESTION`), 'the refused call killed with cause 34', 10_000);
    await until(() => second.hungUp, 'the refused channel hung up', 5_000);
    assert.is(second.hangupCause, 'NORMAL_CIRCUIT_CONGESTION');
    // Nothing was started for it: no audio stream, no playback, no row.
    const touched = fs.commands.filter((c) => c.includes(second.uuid) && !c.startsWith(`api uuid_kill ${second.uuid}`));
    assert.equal(touched.filter((c) => /uuid_audio_stream|uuid_audio_fork|uuid_broadcast|uuid_answer/.test(c)), [], touched.join('\n'));
    assert.is(second.stream, undefined);
    assert.is((await app.store.calls.listCalls()).filter((c) => c.pbxCallId === second.uuid).length, 0);
    assert.is(await refusedCount(app), 1);
    assert.not.ok(first.hungUp, 'the admitted call goes on');

    await fs.hangupFromCaller(first.uuid);
    await until(async () => (await app.store.calls.listCalls({ status: 'ended' })).length === 1, 'call 1 ended', 10_000);
    const third = await fs.placeInboundCall({ callerId: '13800138003', variables: VARS });
    await until(() => third.stream !== undefined && third.playbacks.some((p) => p.startedAt !== undefined), 'call 3 admitted and greeted', 15_000);
    assert.not.ok(fs.commands.some((c) => c.startsWith(`api uuid_kill ${third.uuid}`)));
    assert.is(await refusedCount(app), 1);
  });
});

test('with server.overflowTarget the refused FreeSWITCH call is transferred there instead', async () => {
  await withApp({ maxCalls: 1, overflowTarget: 'overflow,1000' }, async (app, fs) => {
    const first = await fs.placeInboundCall({ callerId: '13800138001', variables: VARS });
    await until(() => first.stream !== undefined, 'call 1 streaming');
    const second = await fs.placeInboundCall({ callerId: '13800138002', variables: VARS });
    const transfer = await until(() => fs.commands.find((c) => c.startsWith(`api uuid_transfer ${second.uuid} `)), 'uuid_transfer to the overflow target', 10_000);
    assert.match(transfer, /1000/);
    assert.match(transfer, /overflow/);
    assert.not.ok(fs.commands.some((c) => c.startsWith(`api uuid_kill ${second.uuid}`)), 'not killed');
    assert.is(await refusedCount(app), 1);
  });
});

test.run();
