import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallpilotApp } from '../../../src/app.ts';
import { type AdmissionWire, checkAdmission, poll, refusedCount, withPbxApp } from '../../support/admission.ts';
import { freePort } from '../../support/e2e.ts';
import { ScriptedSpeechEngine } from '../../engine/engine-fakes.ts';
import { FakeFreeswitch, type FakeChannel } from './peer/fake-freeswitch.ts';

/*
 * Issue 9: past server.maxCalls a call FreeSWITCH parks on callpilot is refused on the ESL wire, through the real
 * app against the FreeSWITCH peer: uuid_kill NORMAL_CIRCUIT_CONGESTION (Q.850 34) without starting any media, or
 * uuid_transfer to server.overflowTarget; counted in callpilot_calls_refused_total.
 */

const VARS = { callpilot_flow: 'demo', callpilot_lang: 'zh' };

async function withFreeswitch(
  server: Record<string, unknown>,
  run: (app: CallpilotApp, fs: FakeFreeswitch) => Promise<void>,
  speech?: ScriptedSpeechEngine,
): Promise<void> {
  const fs = new FakeFreeswitch({ timeScale: 0.05 });
  const eslPort = await fs.listen();
  const port = await freePort();
  try {
    const pbx = { freeswitch: { port: eslPort, password: fs.password, mediaUrl: `ws://127.0.0.1:${port}/media/freeswitch` } };
    await withPbxApp({ server, pbx, port, speech }, (app) => run(app, fs));
  } finally {
    await fs.close();
  }
}

function freeswitchWire(fs: FakeFreeswitch): AdmissionWire<FakeChannel> {
  return {
    name: 'freeswitch',
    place: (n) => fs.placeInboundCall({ callerId: `1380013800${n}`, variables: VARS }),
    running: (call) => call.stream !== undefined && call.playbacks.some((p) => p.startedAt !== undefined),
    expectRefused: async (call) => {
      await poll(() => fs.commands.includes(`api uuid_kill ${call.uuid} NORMAL_CIRCUIT_CONGESTION`), 'the refused call killed with cause 34', 10_000);
      await poll(() => call.hungUp, 'the refused channel hung up', 5_000);
      assert.is(call.hangupCause, 'NORMAL_CIRCUIT_CONGESTION');
      // Nothing was started for it: no audio stream, no playback, no answer.
      const touched = fs.commands.filter((c) => c.includes(call.uuid) && !c.startsWith(`api uuid_kill ${call.uuid}`));
      assert.equal(touched.filter((c) => /uuid_audio_stream|uuid_audio_fork|uuid_broadcast|uuid_answer/.test(c)), [], touched.join('\n'));
    },
    alive: (call) => !call.hungUp,
    hangUp: (call) => fs.hangupFromCaller(call.uuid),
    pbxCallId: (call) => call.uuid,
  };
}

test('past maxCalls a FreeSWITCH call gets uuid_kill NORMAL_CIRCUIT_CONGESTION and no media; the next call after an end is admitted', async () => {
  await withFreeswitch({ maxCalls: 1 }, (app, fs) => checkAdmission(app, freeswitchWire(fs), 1));
});

test('with server.overflowTarget the refused FreeSWITCH call is transferred there instead', async () => {
  await withFreeswitch({ maxCalls: 1, overflowTarget: 'overflow,1000' }, async (app, fs) => {
    const first = await fs.placeInboundCall({ callerId: '13800138001', variables: VARS });
    await poll(() => first.stream !== undefined, 'call 1 streaming');
    const second = await fs.placeInboundCall({ callerId: '13800138002', variables: VARS });
    const transfer = await poll(() => fs.commands.find((c) => c.startsWith(`api uuid_transfer ${second.uuid} `)), 'uuid_transfer to the overflow target', 10_000);
    assert.match(transfer, /1000/);
    assert.match(transfer, /overflow/);
    assert.not.ok(fs.commands.some((c) => c.startsWith(`api uuid_kill ${second.uuid}`)), 'not killed');
    assert.is(await refusedCount(app, 'freeswitch'), 1);
  });
});

test('while the ASR backlog is over server.maxAsrBacklogMs a new FreeSWITCH call gets the same refusal (reason overload); the call already up goes on', async () => {
  const speech = new ScriptedSpeechEngine();
  await withFreeswitch(
    { maxCalls: 10, maxAsrBacklogMs: 400 },
    async (app, fs) => {
      const wire = freeswitchWire(fs);
      const up = await wire.place(1);
      await poll(() => wire.running(up), 'call 1 running');
      speech.backlogMs = 850;
      assert.is(app.admission.free, 0, 'the campaign dialer is offered no place');
      const refused = await wire.place(2);
      await wire.expectRefused(refused);
      assert.is(await refusedCount(app, 'freeswitch', 'overload'), 1);
      assert.is(await refusedCount(app, 'freeswitch', 'capacity'), 0);
      assert.ok(wire.alive(up), 'the call already up is not touched');
      speech.backlogMs = 350;
      const next = await wire.place(3);
      await poll(() => wire.running(next), 'a call admitted again under the limit');
      assert.is(await refusedCount(app, 'freeswitch'), 1, 'nothing more refused');
    },
    speech,
  );
});

test.run();
