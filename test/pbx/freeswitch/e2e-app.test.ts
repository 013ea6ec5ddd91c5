import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../../src/app.ts';
import { configSchema } from '../../../src/config/index.ts';
import { createResampler } from '../../../src/media/index.ts';
import { freePort, MODELS, readTestWav, REPO_ROOT, until } from '../../support/e2e.ts';
import { FakeFreeswitch, TEST_ESL_PASSWORD } from './peer/fake-freeswitch.ts';
import { testLog } from '../../support/run-log.ts';

const log = testLog();

/** A test WAV (8 kHz mono PCM16) upsampled to the 16 kHz of the stream. */
function callerSpeech(file: string): Int16Array {
  const pcm8k = readTestWav(file);
  const resampler = createResampler(8000, 16000);
  const out = resampler.process(pcm8k);
  const tail = resampler.process(new Int16Array(800));
  const joined = new Int16Array(out.length + tail.length);
  joined.set(out);
  joined.set(tail, out.length);
  return joined;
}

test('end to end through the app: greeting via streamAudio + broadcast, caller barges in, real ASR, transfer, call stored', async () => {
  const fs = new FakeFreeswitch({ timeScale: 0.05 });
  const eslPort = await fs.listen();
  const httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-fs-e2e-'));
  let app: CallpilotApp | undefined;
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: httpPort },
      store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
      media: { record: false },
      dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
      pbx: { freeswitch: { port: eslPort, password: TEST_ESL_PASSWORD, mediaUrl: `ws://127.0.0.1:${httpPort}/media/freeswitch` } },
    });
    app = await startCallpilot(config, { log, modelsRoot: MODELS, cwd: REPO_ROOT });
    const ready = (await (await fetch(`${app.url}/readyz`)).json()) as { ready?: boolean };
    assert.ok(ready.ready !== false, 'readyz reflects the ESL connection');

    const channel = await fs.placeInboundCall({ callerId: '13800138000', variables: { callpilot_flow: 'demo', callpilot_lang: 'zh' } });
    await until(() => channel.playbacks.some((p) => p.startedAt !== undefined), 'the greeting playing', 60000);
    assert.ok(fs.commands.some((c) => c.startsWith(`api uuid_broadcast ${channel.uuid} `)));

    // The caller talks over the greeting: "转人工没有" (a human, please).
    await new Promise((r) => setTimeout(r, 600));
    let breakAt: number | undefined;
    fs.on('command', (c) => {
      if (c === `api uuid_break ${channel.uuid} all`) breakAt ??= performance.now();
    });
    channel.stream?.sendAudio(callerSpeech('zh-0097.wav'));
    await until(() => breakAt !== undefined, 'barge-in uuid_break');
    await new Promise((r) => setTimeout(r, 400));
    const cutAt = breakAt ?? 0;
    // The peer stamps a stop with its media clock when its timer runs: on a busy machine that can be after 400 ms.
    await until(() => channel.playbacks.every((p) => p.startedAt === undefined || p.startedAt >= cutAt || p.endedAt !== undefined), 'the greeting stopped');
    // Whatever of the greeting was playing stopped within ~a frame of FS's reply, and nothing
    // announced before the barge-in started afterwards.
    for (const p of channel.playbacks) {
      if (p.startedAt !== undefined && p.startedAt < cutAt) assert.ok(p.endedAt !== undefined && p.endedAt < cutAt + 150, 'greeting cut');
      if (p.startedAt !== undefined && p.startedAt >= cutAt) assert.ok(p.startedAt > cutAt + 300, 'no stale chunk played after the barge-in');
    }

    await until(() => channel.transferredTo !== undefined || fs.commands.some((c) => c.startsWith(`api uuid_transfer ${channel.uuid}`)), 'transfer', 30000);
    await until(async () => (await app?.store.calls.listCalls({ status: 'ended' }))?.length === 1, 'call stored as ended', 10000);
    const [stored] = await app.store.calls.listCalls({ status: 'ended' });
    assert.is(stored.pbx, 'freeswitch');
    assert.is(stored.pbxCallId, channel.uuid);
    assert.is(stored.from, '13800138000');
    const turns = await app.store.calls.listTurns(stored.id);
    assert.ok(turns.some((t) => t.callerText.includes('人工')), `turns: ${JSON.stringify(turns.map((t) => t.callerText))}`);
    assert.ok(turns.some((t) => t.bargeIn), 'the barge-in is recorded');
  } finally {
    await app?.close();
    await fs.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
