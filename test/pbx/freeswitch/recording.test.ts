import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingPath } from '../../../src/pbx/freeswitch/index.ts';
import type { HangupInfo } from '../../../src/pbx/types.ts';
import { inboundCall, rig, teardown, until } from './harness.ts';

const TEMPLATE = '/var/lib/freeswitch/recordings/callpilot/{date}/{uuid}.wav';

test('recordingPath fills {uuid} and {date} and refuses paths uuid_record would split', () => {
  const at = new Date('2026-11-23T23:59:00Z');
  assert.is(recordingPath(TEMPLATE, 'abc', at), '/var/lib/freeswitch/recordings/callpilot/2026-11-23/abc.wav');
  assert.throws(() => recordingPath('/rec/{uuid} copy.wav', 'abc', at), /one word/);
});

test('record on: uuid_record start after answer, path in pbx_recording, stopped before the bot hangs up', async () => {
  const r = await rig({ record: true, recordPath: TEMPLATE });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    assert.is(call.info.variables.pbx_recording, undefined, 'nothing recorded before answer');
    await call.answer();
    const path = `/var/lib/freeswitch/recordings/callpilot/${new Date().toISOString().slice(0, 10)}/${uuid}.wav`;
    assert.ok(r.fs.commands.includes(`api uuid_record ${uuid} start ${path}`));
    assert.is(call.info.variables.pbx_recording, path);
    assert.is(r.fs.channel(uuid).recording, path);
    const leg = await call.openMedia();
    assert.is(r.fs.commands.filter((c) => c.startsWith(`api uuid_record ${uuid} start`)).length, 1, 'started once');

    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    await call.hangup();
    await hungUp;
    const stopAt = r.fs.commands.indexOf(`api uuid_record ${uuid} stop ${path}`);
    const killAt = r.fs.commands.findIndex((c) => c.startsWith(`api uuid_kill ${uuid}`));
    assert.ok(stopAt >= 0 && stopAt < killAt, 'stop before uuid_kill');
    assert.is(r.fs.channel(uuid).recording, undefined, 'FS accepted the stop (the path matched)');
    await until(() => leg.closed, 'leg closed');
  } finally {
    await teardown(r);
  }
});

test('record on, caller hangs up: FS ends the recording (RECORD_STOP) and no stop is sent after the fact', async () => {
  const r = await rig({ record: true, recordPath: '/rec/{uuid}.wav' });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    await call.answer();
    await call.openMedia();
    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    await r.fs.hangupFromCaller(uuid);
    const [info] = await hungUp;
    assert.is(info.by, 'caller');
    await call.hangup();
    await new Promise((res) => setTimeout(res, 100));
    assert.not.ok(r.fs.commands.some((c) => c.startsWith(`api uuid_record ${uuid} stop`)));
    assert.is(call.info.variables.pbx_recording, `/rec/${uuid}.wav`, 'the variable stays for the stored call');
  } finally {
    await teardown(r);
  }
});

test('record on, originated call: recording starts when its media opens', async () => {
  const r = await rig({ record: true, recordPath: '/rec/{uuid}.wav' });
  try {
    await r.adapter.start();
    const result = await r.adapter.originate({ endpoint: 'sofia/gateway/trunk/13800138000', timeoutSec: 5 });
    assert.is(result.disposition, 'answered');
    if (result.disposition !== 'answered') return;
    const uuid = result.call.info.pbxCallId;
    const leg = await result.call.openMedia();
    assert.ok(r.fs.commands.includes(`api uuid_record ${uuid} start /rec/${uuid}.wav`));
    assert.is(result.call.info.variables.pbx_recording, `/rec/${uuid}.wav`);
    const hungUp = once(result.call, 'hangup');
    await result.call.hangup();
    await hungUp;
    assert.ok(leg.closed);
  } finally {
    await teardown(r);
  }
});

test('record on, FreeSWITCH refuses: the call goes on unrecorded, no pbx_recording', async () => {
  const r = await rig({ record: true }, { recordStartFails: true });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    await call.answer();
    assert.ok(r.fs.commands.some((c) => c.startsWith(`api uuid_record ${uuid} start `)));
    assert.is(call.info.variables.pbx_recording, undefined);
    const leg = await call.openMedia();
    assert.not.ok(leg.closed);
    await call.hangup();
    assert.not.ok(r.fs.commands.some((c) => c.startsWith(`api uuid_record ${uuid} stop`)), 'nothing to stop');
  } finally {
    await teardown(r);
  }
});

test('record off (the default): no uuid_record at all', async () => {
  const r = await rig();
  try {
    assert.is(r.cfg.record, false);
    await r.adapter.start();
    const { call } = await inboundCall(r);
    await call.answer();
    await call.openMedia();
    await call.hangup();
    assert.not.ok(r.fs.commands.some((c) => c.includes('uuid_record')));
    assert.is(call.info.variables.pbx_recording, undefined);
  } finally {
    await teardown(r);
  }
});

test.run();
