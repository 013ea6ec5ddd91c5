import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../../src/app.ts';
import { configSchema } from '../../../src/config/index.ts';
import { freePort, MODELS, readTestWav as testWav, REPO_ROOT, until } from '../../support/e2e.ts';
import { FakeAsterisk } from './peer/fake-asterisk.ts';
import { testLog } from '../../support/run-log.ts';

const log = testLog();

for (const media of ['websocket', 'audiosocket'] as const) {
  test(`end to end through the app over ${media}: greeting, DTMF, barge-in with real ASR, flush, transfer, call stored with transcript and recording`, async () => {
    const asterisk = new FakeAsterisk();
    await asterisk.start();
    const httpPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'callpilot-ast-e2e-'));
    let app: CallpilotApp | undefined;
    try {
      const config = configSchema.parse({
        server: { host: '127.0.0.1', port: httpPort },
        store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
        media: { record: true },
        dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
        pbx: { asterisk: { url: asterisk.url, username: 'bot', password: 'bot', app: 'bot', media, audioSocketPort: 0, mediaBindHost: '127.0.0.1' } },
      });
      app = await startCallpilot(config, { log, modelsRoot: MODELS, cwd: REPO_ROOT });
      await until(() => app?.adapters[0]?.ready === true, 'ARI connected', 60_000); // generous: swagger set-up takes tens of seconds on a loaded 2-core machine
      const ready = (await (await fetch(`${app.url}/readyz`)).json()) as { ready?: boolean };
      assert.is(ready.ready, true);

      const ch = asterisk.placeInboundCall({ args: ['flow=demo', 'lang=zh'], callerNumber: '13800138000' });
      const line = ch.line;
      assert.ok(line);
      // Never a silent greeting: the caller hears the bot without having said anything.
      await until(() => line.heardAudioFrames > 10, 'the greeting reaching the caller');

      // A key press during the greeting reaches the dialog (chan_websocket DTMF_END / AudioSocket 0x03).
      asterisk.callerDtmf(ch.id, '9');
      // The caller talks over the bot: "转人工没有" (a human, please).
      await new Promise((r) => setTimeout(r, 1500));
      const heardBeforeBargeIn = line.heardAudioFrames;
      asterisk.callerSays(ch.id, testWav('zh-0097.wav'));
      asterisk.callerSays(ch.id, new Int16Array(8000));

      await until(() => asterisk.requests.some((r) => r.path === `/ari/channels/${ch.id}/continue`), 'transfer to the agents context', 40000);
      assert.ok(line.heardAudioFrames > heardBeforeBargeIn, 'the bot spoke');
      const cont = asterisk.requests.find((r) => r.path === `/ari/channels/${ch.id}/continue`);
      assert.is(cont?.query.context, 'agents');
      assert.match(asterisk.channel(ch.id)?.variables.CALLPILOT_TRANSCRIPT ?? '', /人工/);
      await until(() => asterisk.liveBridgeIds().length === 0, 'bridge torn down', 5000);

      await until(async () => (await app?.store.calls.listCalls({ status: 'ended' }))?.length === 1, 'call stored as ended', 15000);
      const [stored] = await app.store.calls.listCalls({ status: 'ended' });
      assert.is(stored.pbx, 'asterisk');
      assert.is(stored.pbxCallId, ch.id);
      assert.is(stored.from, '13800138000');
      const turns = await app.store.calls.listTurns(stored.id);
      assert.ok(turns.some((t) => t.callerText.includes('人工')), `turns: ${JSON.stringify(turns.map((t) => t.callerText))}`);
      const events = await app.store.calls.listEvents(stored.id);
      assert.ok(events.some((e) => e.type === 'dtmf'), `events: ${events.map((e) => e.type).join(',')}`);
      assert.ok(events.some((e) => e.type === 'bargeIn') || turns.some((t) => t.bargeIn), 'the barge-in is recorded');
      if (media === 'websocket') {
        const commands = asterisk.mediaCommands.map((c) => c.slice(c.indexOf(' ') + 1));
        assert.ok(commands.includes('FLUSH_MEDIA'), `chan_websocket commands: ${commands.join(', ')}`);
        assert.ok(commands.some((c) => c.startsWith('MARK_MEDIA ')), 'marks travel to Asterisk');
      }
      assert.ok(stored.recordingDir && existsSync(stored.recordingDir), `recording at ${stored.recordingDir}`);
    } finally {
      await app?.close();
      await asterisk.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
