import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../../src/app.ts';
import { configSchema } from '../../../src/config/index.ts';
import type { CallRecord } from '../../../src/store/index.ts';
import { freePort, MODELS, readTestWav, REPO_ROOT, until } from '../../support/e2e.ts';
import { FakeAsterisk } from './peer/fake-asterisk.ts';
import { testLog } from '../../support/run-log.ts';

/**
 * Callers whose phones suppress silence (captures silence-suppression-*): while quiet they send no RTP at all and
 * the media leg delivers nothing. Before callpilot's clock ran on real time, such a call never ended its turn and
 * never played a no-input prompt; here both must happen, in every media mode, through the whole app.
 */
const log = testLog();

type Media = 'websocket' | 'audiosocket' | 'rtp';

async function withApp(media: Media, extra: { media?: Record<string, unknown>; dialog?: Record<string, unknown> }, run: (app: CallpilotApp, asterisk: FakeAsterisk) => Promise<void>): Promise<void> {
  const asterisk = new FakeAsterisk();
  await asterisk.start();
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-gaps-'));
  let app: CallpilotApp | undefined;
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: await freePort() },
      store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
      media: { record: false, ...extra.media },
      dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh', ...extra.dialog },
      pbx: { asterisk: { url: asterisk.url, username: 'bot', password: 'bot', app: 'bot', media, audioSocketPort: 0, rtpPortRange: [0, -1] } },
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

async function storedCall(app: CallpilotApp, pbxCallId: string, what: string): Promise<CallRecord> {
  let found: CallRecord | undefined;
  await until(
    async () => {
      found = (await app.store.calls.listCalls({ status: 'ended' })).find((c) => c.pbxCallId === pbxCallId);
      return found !== undefined;
    },
    what,
    45000,
  );
  return found as CallRecord;
}

for (const media of ['websocket', 'audiosocket', 'rtp'] as const) {
  test(`${media}: a caller whose RTP stops gets its turn ended and, when silent, the no-input prompt`, async () => {
    await withApp(media, { dialog: { noInputTimeoutMs: 1500 } }, async (app, asterisk) => {
      const talker = asterisk.placeInboundCall({ args: ['flow=demo', 'lang=zh'], silenceSuppression: true });
      const silent = asterisk.placeInboundCall({ args: ['flow=demo', 'lang=zh'], silenceSuppression: true });
      // The greeting plays although neither caller has sent a single packet.
      await until(() => (talker.line?.heardAudioFrames ?? 0) > 10 && (silent.line?.heardAudioFrames ?? 0) > 10, 'greetings heard', 20000);
      // 不是, then nothing at all on the wire: the turn must still end and the bot answer.
      asterisk.callerSays(talker.id, readTestWav('zh-0008.wav'));

      const talked = await storedCall(app, talker.id, 'the talking caller ended by the bot');
      const turns = await app.store.calls.listTurns(talked.id);
      assert.ok(turns.some((t) => t.inputKind === 'speech' && t.callerText.includes('不是')), `turns: ${JSON.stringify(turns.map((t) => t.callerText))}`);
      assert.is(talked.disposition, 'refused');
      assert.ok((talker.line?.framesWithheld ?? 0) > 50, 'the caller really sent nothing while quiet');

      const quiet = await storedCall(app, silent.id, 'the silent caller ended after no-input prompts');
      const events = await app.store.calls.listEvents(quiet.id);
      assert.ok(events.some((e) => e.type === 'noInput'), `events: ${events.map((e) => e.type).join(',')}`);
      assert.is(quiet.disposition, 'no_answer');
      assert.ok((silent.line?.framesWithheld ?? 0) > 100);
    });
  });
}

test('dead media: no caller audio at all for media.deadMediaMs ends the call as dead_media, cause 41', async () => {
  await withApp('rtp', { media: { deadMediaMs: 2500 }, dialog: { noInputTimeoutMs: 60000 } }, async (app, asterisk) => {
    const ch = asterisk.placeInboundCall({ args: ['flow=demo', 'lang=zh'], silenceSuppression: true });
    const stored = await storedCall(app, ch.id, 'the dead call stored');
    assert.is(stored.disposition, 'dead_media');
    await until(async () => (await app.store.calls.getCall(stored.id))?.hangupCause === 41, 'cause stored', 5000);
    const hangup = asterisk.requests.find((r) => r.method === 'DELETE' && r.path === `/ari/channels/${ch.id}`);
    assert.is(hangup?.query.reason_code, '41');
  });
});

test('a call whose media set-up fails is stored and counted (media_failed, cause 41)', async () => {
  await withApp('audiosocket', {}, async (app, asterisk) => {
    // Asterisk cannot reach the AudioSocket listener: externalMedia answers 500, the caller was already answered.
    (app.adapters[0] as unknown as { audioSocket: { port: number } }).audioSocket.port = await freePort();
    const ch = asterisk.placeInboundCall({ args: ['flow=demo', 'lang=zh'] });
    const stored = await storedCall(app, ch.id, 'the failed call stored');
    assert.is(stored.disposition, 'media_failed');
    assert.is(stored.hangupCause, 41);
    const events = await app.store.calls.listEvents(stored.id);
    assert.match(String(events.find((e) => e.type === 'setupFailed')?.data.error), /internal error/);
    assert.match(await app.metrics.render(), /calls_total\{disposition="media_failed"\} 1/);
  });
});

test.run();
