import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioLeg } from '../../../src/media/index.ts';
import type { HangupInfo } from '../../../src/pbx/types.ts';
import { inboundCall, rig, teardown, tone, until } from './harness.ts';

test('connects, authenticates and subscribes; ready reflects the connection', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    assert.ok(r.adapter.ready);
    const subscribe = r.fs.commands.find((c) => c.startsWith('event json'));
    assert.ok(subscribe?.includes('CHANNEL_PARK'));
    assert.ok(subscribe?.includes('CUSTOM mod_audio_stream::play'));
    assert.ok(r.fs.commands.includes(`auth ${r.fs.password}`));
  } finally {
    await teardown(r);
  }
});

test('a wrong password is a fatal, clear error and no retry loop', async () => {
  const r = await rig({ password: 'nope' });
  try {
    let error: Error | undefined;
    await r.adapter.start().catch((err: Error) => (error = err));
    assert.ok(error);
    assert.match(error?.message ?? '', /refused the ESL password \(-ERR invalid\)/);
    const attempts = r.fs.commands.filter((c) => c.startsWith('auth')).length;
    await new Promise((res) => setTimeout(res, 400));
    assert.is(r.fs.commands.filter((c) => c.startsWith('auth')).length, attempts);
    assert.is(r.adapter.ready, false);
    assert.match(r.adapter.notReadyReason ?? '', /password/);
  } finally {
    await teardown(r);
  }
});

test('inbound call: stream opens on audio, greeting leaves as streamAudio and is broadcast, barge-in breaks it', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r, { callpilot_flow: 'collections', callpilot_lang: 'zh' });
    assert.is(call.info.pbx, 'freeswitch');
    assert.is(call.info.direction, 'inbound');
    assert.is(call.info.from, '13800138000');
    assert.is(call.info.flow, 'collections');
    assert.is(call.info.lang, 'zh');
    await call.answer();
    const leg = await call.openMedia();
    const channel = r.fs.channel(uuid);
    // openMedia resolves once callpilot accepted the WebSocket (not on caller audio, which may never come: capture k).
    assert.ok(channel.stream, 'the stream was started');
    await until(() => channel.stream?.isOpen === true, 'the client saw the 101');
    const start = r.fs.commands.find((c) => c.includes('uuid_audio_stream') && c.includes(' start '));
    assert.match(start ?? '', new RegExp(`/media/freeswitch/${uuid} mono 16k`));

    const frames: number[] = [];
    leg.on('frame', (pcm) => frames.push(pcm.length));
    channel.stream?.sendAudio(tone(200));
    await until(() => frames.length >= 10, 'caller frames');
    assert.ok(frames.every((n) => n === 320));

    leg.play(tone(1500));
    await until(() => channel.playbacks.length >= 1 && channel.playbacks[0].startedAt !== undefined, 'prompt playing');
    // The first chunk is small so the first words leave early; the prompt is one playlist of its chunks.
    assert.is(channel.files.get(`/tmp/${uuid}_0.tmp.r16`)?.length, 240 * 16);
    assert.match(channel.playbacks[0].file, /^file_string:\/\//);
    await until(() => r.fs.wireAudio(uuid).segments.length >= 2, 'second chunk on the wire');
    assert.is(channel.playbacks.length, 1, 'one broadcast for the whole prompt');

    const dropped = leg.flush();
    assert.ok(dropped > 500, `flush dropped ${dropped} ms`);
    await until(() => channel.playing === undefined, 'playback stopped');
    assert.ok(r.fs.commands.some((c) => c === `api uuid_break ${uuid} all`));
    assert.ok(channel.playbacks.some((p) => p.status === 'break'));
    const heardSamples = channel.playbacks.reduce((n, p) => n + p.samples.length, 0);
    assert.ok(heardSamples <= 1500 * 16);

    const digits: string[] = [];
    call.on('dtmf', (d) => digits.push(d));
    leg.on('dtmf', (d) => digits.push(`leg:${d}`));
    await r.fs.sendDtmf(uuid, '1#');
    await until(() => digits.length >= 4, 'dtmf');
    assert.equal(digits.filter((d) => !d.startsWith('leg:')), ['1', '#']);

    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    const legClosed = once(leg, 'close');
    await call.hangup(17);
    const [info] = await hungUp;
    assert.equal(info, { cause: 17, causeText: 'USER_BUSY', by: 'bot' });
    await legClosed;
    assert.ok(channel.stream === undefined || channel.stream.isTcpClosed);
  } finally {
    await teardown(r);
  }
});

test('a file announced after a barge-in is never broadcast', async () => {
  const r = await rig({ firstChunkMs: 100, chunkMs: 100 });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg: AudioLeg = await call.openMedia();
    const channel = r.fs.channel(uuid);
    leg.play(tone(1000));
    leg.flush();
    await new Promise((res) => setTimeout(res, 400));
    const broadcasts = r.fs.commands.filter((c) => c.startsWith(`api uuid_broadcast ${uuid}`));
    assert.ok(channel.files.size >= 1, 'FS announced the chunks');
    assert.is(broadcasts.length, 0);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('the caller hangs up: hangup with Q.850 cause, the leg closes', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg = await call.openMedia();
    const closed = once(leg, 'close');
    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    await r.fs.hangupFromCaller(uuid, 'NORMAL_CLEARING');
    const [info] = await hungUp;
    assert.is(info.cause, 16);
    assert.is(info.by, 'caller');
    const [reason] = (await closed) as [{ code: string }];
    assert.is(reason.code, 'caller_hangup');
  } finally {
    await teardown(r);
  }
});

test('transfer to the agent extension: uuid_transfer, leg closed with transfer', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg = await call.openMedia();
    const closed = once(leg, 'close');
    await call.transfer({ kind: 'dialplan', context: 'default', extension: 'agent' }, 'wants a human');
    const [reason] = (await closed) as [{ code: string }];
    assert.is(reason.code, 'transfer');
    assert.ok(r.fs.commands.includes(`api uuid_transfer ${uuid} agent XML default`));
    assert.ok(r.fs.commands.includes(`api uuid_setvar ${uuid} callpilot_notes wants a human`));
    const [info] = (await once(call, 'hangup')) as [HangupInfo];
    assert.is(info.by, 'pbx');
    assert.is(r.fs.channel(uuid).transferredTo, 'agent');
  } finally {
    await teardown(r);
  }
});

test('a second openMedia after the stream died stops the attached bug first', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg = await call.openMedia();
    await leg.close({ code: 'transport_error' });
    const again = await call.openMedia();
    assert.not.equal(again, leg);
    const cmds = r.fs.commands.filter((c) => c.includes(`uuid_audio_stream ${uuid}`));
    const lastStart = cmds.map((c) => c.includes(' start ')).lastIndexOf(true);
    assert.ok(cmds.slice(0, lastStart).some((c) => c.includes(' stop')), 'stop before the second start');
    await again.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('media opens even when mod_audio_stream skips the metadata frame', async () => {
  const r = await rig({}, { dropMetadata: true });
  try {
    await r.adapter.start();
    const { call } = await inboundCall(r);
    const leg = await call.openMedia();
    assert.not.ok(leg.closed);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('openMedia fails clearly when mod_audio_stream cannot reach callpilot', async () => {
  const r = await rig({ mediaUrl: 'ws://127.0.0.1:9/media/freeswitch' });
  try {
    await r.adapter.start();
    const { call } = await inboundCall(r);
    let error: Error | undefined;
    await call.openMedia().catch((err: Error) => (error = err));
    assert.match(error?.message ?? '', /could not reach .*Connection refused/);
  } finally {
    await teardown(r);
  }
});

const OUTCOMES = [
  ['answer', 'answered', undefined],
  ['busy', 'busy', 17],
  ['unreachable', 'unreachable', 41],
  ['no-answer', 'no-answer', 19],
] as const;

for (const [outcome, disposition, cause] of OUTCOMES) {
  test(`originate: ${outcome} -> ${disposition}`, async () => {
    const r = await rig();
    try {
      await r.adapter.start();
      r.fs.setCallee(() => outcome);
      const result = await r.adapter.originate({ endpoint: 'sofia/gateway/trunk/13800138000', callerId: '4001', flow: 'survey', timeoutSec: 5 });
      assert.is(result.disposition, disposition);
      const cmd = r.fs.commands.find((c) => c.startsWith('bgapi originate'));
      assert.match(cmd ?? '', /origination_caller_id_number=4001/);
      assert.match(cmd ?? '', /ignore_early_media=true/);
      assert.match(cmd ?? '', /callpilot_flow=survey/);
      assert.match(cmd ?? '', /sofia\/gateway\/trunk\/13800138000 &park\(\)\nJob-UUID: /);
      if (result.disposition === 'answered') {
        assert.is(result.call.info.direction, 'outbound');
        const leg = await result.call.openMedia();
        const hungUp = once(result.call, 'hangup');
        await result.call.hangup();
        await hungUp;
        assert.ok(leg.closed);
      } else {
        assert.is(result.cause, cause);
      }
    } finally {
      await teardown(r);
    }
  });
}

test('ESL drop mid-call: reconnects with backoff, ready follows, a call that ended meanwhile is closed', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const readiness: boolean[] = [];
    r.adapter.on('ready', (ready) => readiness.push(ready));
    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    r.fs.dropEslConnections(300);
    await until(() => readiness.includes(false), 'not ready');
    // The caller hangs up while nobody listens: the event is lost.
    await r.fs.hangupFromCaller(uuid);
    await until(() => r.adapter.ready, 'reconnected');
    const [info] = await hungUp;
    assert.is(info.cause, 31);
    assert.ok(r.fs.commands.includes(`api uuid_exists ${uuid}`));
  } finally {
    await teardown(r);
  }
});

test('malformed ESL input: clear error, no crash, reconnect', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const reasons: (string | undefined)[] = [];
    r.adapter.on('ready', (ready, reason) => reasons.push(ready ? 'up' : reason));
    r.fs.injectRaw('Content-Length: banana\nContent-Type: text/event-json\n\n{}');
    await until(() => reasons.includes('up'), 'reconnected after garbage');
    assert.match(String(reasons[0]), /Content-Length is not a byte count/);
    r.fs.injectRaw('complete garbage without any header syntax\n\n');
    await until(() => reasons.filter((x) => x === 'up').length >= 2, 'reconnected again');
    assert.ok(r.adapter.ready);
  } finally {
    await teardown(r);
  }
});

test('endpoint check: a dial string FreeSWITCH cannot originate is invalid; gateways and profiles are dialled unchecked, and say so', async () => {
  const r = await rig();
  try {
    const invalid = await r.adapter.checkEndpoint('13800138000');
    assert.is(invalid.status, 'invalid');
    assert.match(invalid.detail ?? '', /module\/args/);
    assert.is((await r.adapter.checkEndpoint('sofia/gateway/carrier')).status, 'invalid');
    const gw = await r.adapter.checkEndpoint('{origination_caller_id_number=10086}sofia/gateway/carrier/13800138000');
    assert.is(gw.status, 'unknown');
    assert.match(gw.detail ?? '', /gateway carrier/);
    assert.is((await r.adapter.checkEndpoint('user/1000')).status, 'unknown');
    assert.is(r.fs.commands.length, 0, 'nothing asked of FreeSWITCH');
  } finally {
    await teardown(r);
  }
});

test.run();
