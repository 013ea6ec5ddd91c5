import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../../src/app.ts';
import { configSchema } from '../../../src/config/index.ts';
import { log, until } from './harness.ts';
import { freePort, MODELS, REPO_ROOT } from '../../support/e2e.ts';
import { FakeFreeswitch } from './peer/fake-freeswitch.ts';


// mod_audio_fork in the fake is doc-derived (see peer/audio-fork-module.ts); the DTMF, record and
// transfer events are the captured ones (d, e).
test('end to end with mod_audio_fork and PBX recording: greeting via playAudio, DTMF reaches the dialog, transfer stored with its Q.850 cause', async () => {
  const fs = new FakeFreeswitch({ timeScale: 0.05 });
  const eslPort = await fs.listen();
  const httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-fs-fork-e2e-'));
  let app: CallpilotApp | undefined;
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: httpPort },
      store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
      media: { record: false },
      dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
      pbx: {
        freeswitch: {
          port: eslPort,
          password: fs.password,
          media: 'audio_fork',
          mediaUrl: `ws://127.0.0.1:${httpPort}/media/freeswitch`,
          record: true,
          recordPath: '/srv/rec/{uuid}.wav',
        },
      },
    });
    app = await startCallpilot(config, { log, modelsRoot: MODELS, cwd: REPO_ROOT });
    const store = app.store;

    const channel = await fs.placeInboundCall({ callerId: '13800138000', variables: { callpilot_flow: 'demo', callpilot_lang: 'zh' } });
    await until(() => channel.playbacks.some((p) => p.startedAt !== undefined), 'the greeting playing', 60000);
    assert.ok(fs.commands.some((c) => c.startsWith(`api uuid_audio_fork ${channel.uuid} start `)), 'media over mod_audio_fork');
    assert.ok(channel.stream?.textsReceived.some((t) => t.startsWith('{"type":"playAudio"')), 'the greeting left as playAudio');
    assert.ok(fs.commands.includes(`api uuid_record ${channel.uuid} start /srv/rec/${channel.uuid}.wav`), 'recording started');
    const [active] = await store.calls.listCalls({ status: 'active' });
    assert.ok(active, 'the call is stored as active');

    // The greeting step of the demo flow has no DTMF map, so a key press is a no-match: the first
    // one gets the retry prompt, the second one ends at the human agent (defaults.no_match).
    await fs.sendDtmf(channel.uuid, '1#');
    await until(async () => (await store.calls.listEvents(active.id)).some((e) => e.type === 'dtmf'), 'the dtmf event stored', 10000);
    const dtmf = (await store.calls.listEvents(active.id)).find((e) => e.type === 'dtmf');
    assert.is(dtmf?.data.digits, '1', '`#` ends the digits and is not part of them');
    await new Promise((r) => setTimeout(r, 300));
    await fs.sendDtmf(channel.uuid, '2#');

    await until(() => channel.transferredTo !== undefined, 'transfer to the agent extension', 30000);
    assert.ok(fs.commands.includes(`api uuid_transfer ${channel.uuid} agent XML default`));
    await until(async () => (await store.calls.getCall(active.id))?.status === 'ended' && (await store.calls.getCall(active.id))?.hangupCause !== undefined, 'call stored as ended with its cause', 15000);
    const stored = await store.calls.getCall(active.id);
    assert.is(stored?.pbx, 'freeswitch');
    assert.is(stored?.pbxCallId, channel.uuid);
    // The peer's default agent extension is capture e's: it plays a tone and FreeSWITCH hangs up, no bridge.
    assert.is(stored?.hangupCause, 16, 'NORMAL_CLEARING from the agent extension');
    assert.is(stored?.hangupBy, 'pbx');
    await until(async () => (await store.calls.getCall(active.id))?.disposition === 'transfer_failed', 'the transfer stored as failed: no agent took the caller', 10000);
    assert.is(stored?.variables.pbx_recording, `/srv/rec/${channel.uuid}.wav`);
    const turns = await store.calls.listTurns(active.id);
    assert.equal(
      turns.filter((t) => t.inputKind === 'dtmf').map((t) => t.callerText),
      ['1', '2'],
      `turns: ${JSON.stringify(turns.map((t) => [t.inputKind, t.callerText]))}`,
    );
  } finally {
    await app?.close();
    await fs.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
