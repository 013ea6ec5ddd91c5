import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { AudioLeg } from '../../../src/media/index.ts';
import type { HangupInfo } from '../../../src/pbx/types.ts';
import { inboundCall, rig, teardown, tone, until } from './harness.ts';

// The FreeSWITCH side of these tests is the fake's mod_audio_fork, which is derived from the
// module's documentation and source, not from a capture (see peer/audio-fork-module.ts).

test('audio_fork: subscribes to mod_audio_fork events and serves the audio.drachtio.org subprotocol', async () => {
  const r = await rig({ media: 'audio_fork' });
  try {
    await r.adapter.start();
    const subscribe = r.fs.commands.find((c) => c.startsWith('event json')) ?? '';
    for (const subclass of ['play_audio', 'connect', 'connect_failed', 'disconnect', 'error']) {
      assert.ok(subscribe.includes(`mod_audio_fork::${subclass}`), `subscribes to mod_audio_fork::${subclass}`);
    }
    assert.not.ok(subscribe.includes('mod_audio_stream::'), 'no mod_audio_stream events');
    const [route] = r.adapter.webSocketRoutes();
    assert.equal(route.protocols, ['audio.drachtio.org']);
    // A client not offering the subprotocol is turned away at the upgrade.
    const plain = new WebSocket(`${r.media.url}/media/freeswitch/some-uuid`);
    const [err] = (await once(plain, 'error')) as [Error];
    assert.match(err.message, /400/);
  } finally {
    await teardown(r);
  }
});

test('audio_fork call: stream up, caller audio, bot audio via playAudio + broadcast, barge-in killAudio + uuid_break, DTMF, hangup', async () => {
  const r = await rig({ media: 'audio_fork' });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r, { callpilot_flow: 'demo' });
    await call.answer();
    const leg = await call.openMedia();
    const channel = r.fs.channel(uuid);
    // openMedia resolves once callpilot accepted the WebSocket (not on caller audio, which may never come: capture k).
    assert.ok(channel.stream, 'the stream was started');
    await until(() => channel.stream?.isOpen === true, 'the client saw the 101');
    assert.is(channel.mediaModule, 'audio_fork');
    const start = r.fs.commands.find((c) => c.startsWith(`api uuid_audio_fork ${uuid} start `)) ?? '';
    // Argument order of mod_audio_fork: <url> <mix-type> <sampling-rate> <metadata>.
    assert.match(start, new RegExp(`start ws://127\\.0\\.0\\.1:\\d+/media/freeswitch/${uuid} mono 16k '\\{"uuid":"${uuid}"\\}'$`));
    assert.is(channel.stream?.textsReceived.length, 0);

    // lws sends whatever the buffer holds: frames arrive batched, the leg re-cuts them to 20 ms.
    const frames: number[] = [];
    leg.on('frame', (pcm) => frames.push(pcm.length));
    channel.stream?.sendAudio(tone(300));
    await until(() => frames.length >= 15, 'caller frames');
    assert.ok(frames.every((n) => n === 320));
    // A full default buffer (2 s) written as one message after a stall is legal, and re-cut like the rest.
    const before = frames.length;
    channel.stream?.sendAudioMessage(tone(2000));
    await until(() => frames.length >= before + 100, 'a 2 s message re-cut into 20 ms frames');
    assert.ok(channel.stream?.isOpen, 'the leg took the 64,000-byte message');

    leg.play(tone(1500));
    await until(() => r.fs.wireAudio(uuid).segments.length >= 2 && channel.playing !== undefined, 'two chunks on the wire, one playing');
    const [first] = (channel.stream?.textsReceived ?? []).map((t) => JSON.parse(t) as { type: string; data: Record<string, unknown> });
    assert.is(first.type, 'playAudio');
    assert.is(first.data.audioContentType, 'raw');
    assert.is(first.data.sampleRate, 16000);
    assert.is(Buffer.from(String(first.data.audioContent), 'base64').length, 240 * 16 * 2, 'first chunk is firstChunkMs');
    // mod_audio_fork numbers files with one counter for all calls: the playlist lists the announced names.
    assert.is(channel.playbacks.length, 1, 'one broadcast for the prompt');
    assert.match(channel.playbacks[0].file, new RegExp(`^file_string://.*/${uuid}_\\d+\\.tmp\\.r16$`));
    assert.ok(r.fs.commands.includes(`api uuid_broadcast ${uuid} ${channel.playbacks[0].file} aleg`));

    const dropped = leg.flush();
    assert.ok(dropped > 500, `flush dropped ${dropped} ms`);
    await until(() => channel.playing === undefined && channel.killAudios === 1, 'playback stopped by killAudio');
    assert.is(JSON.parse(channel.stream?.textsReceived.at(-1) ?? '{}').type, 'killAudio');
    assert.ok(r.fs.commands.includes(`api uuid_break ${uuid} all`), 'uuid_break all also drops queued broadcasts');
    assert.ok(channel.playbacks.some((p) => p.status === 'break'));
    await new Promise((res) => setTimeout(res, 200));
    assert.is(channel.playing, undefined, 'nothing queued resumed after the barge-in');

    const digits: string[] = [];
    leg.on('dtmf', (d) => digits.push(d));
    await r.fs.sendDtmf(uuid, '12*#');
    await until(() => digits.length >= 4, 'dtmf on the leg');
    assert.equal(digits, ['1', '2', '*', '#']);

    const stream = channel.stream;
    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    const legClosed = once(leg, 'close') as Promise<[{ code: string }]>;
    await call.hangup();
    const [info] = await hungUp;
    assert.equal(info, { cause: 16, causeText: 'NORMAL_CLEARING', by: 'bot' });
    const [reason] = await legClosed;
    assert.is(reason.code, 'caller_hangup');
    await until(() => stream?.isTcpClosed === true, 'the fork socket closed');
    assert.not.ok(channel.bugAttached);
  } finally {
    await teardown(r);
  }
});

test('audio_fork: a playAudio file announced after a barge-in is never broadcast', async () => {
  const r = await rig({ media: 'audio_fork', firstChunkMs: 100, chunkMs: 100 });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg: AudioLeg = await call.openMedia();
    const channel = r.fs.channel(uuid);
    leg.play(tone(1000));
    leg.flush();
    await new Promise((res) => setTimeout(res, 400));
    assert.ok(channel.files.size >= 1, 'mod_audio_fork announced the chunks');
    assert.is(r.fs.commands.filter((c) => c.startsWith(`api uuid_broadcast ${uuid}`)).length, 0);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('audio_fork: closing the leg sends uuid_audio_fork stop and the socket closes; the call lives on', async () => {
  const r = await rig({ media: 'audio_fork' });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg = await call.openMedia();
    const channel = r.fs.channel(uuid);
    const stream = channel.stream;
    await leg.close({ code: 'bot_hangup' });
    assert.ok(r.fs.commands.some((c) => c.startsWith(`bgapi uuid_audio_fork ${uuid} stop\n`)), 'stop via bgapi');
    assert.ok(stream?.isTcpClosed, 'TCP closed when close resolves');
    assert.not.ok(channel.bugAttached);
    assert.not.ok(channel.hungUp);
    await call.hangup();
  } finally {
    await teardown(r);
  }
});

test('audio_fork: connect_failed fails openMedia clearly, and the retry stops the bug left attached', async () => {
  const r = await rig({ media: 'audio_fork', mediaUrl: 'ws://127.0.0.1:9/media/freeswitch' });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    let error: Error | undefined;
    await call.openMedia().catch((err: Error) => (error = err));
    assert.match(error?.message ?? '', /mod_audio_fork could not reach ws:\/\/127\.0\.0\.1:9\/media\/freeswitch: \{"reason":"Connection refused"\}/);
    assert.ok(r.fs.channel(uuid).bugAttached, 'mod_audio_fork keeps the bug after a failed connect');
    await call.openMedia().catch(() => undefined);
    const cmds = r.fs.commands.filter((c) => c.includes(`uuid_audio_fork ${uuid}`));
    assert.ok(cmds[1]?.includes(' stop'), `stop before the second start: ${JSON.stringify(cmds)}`);
    assert.ok(cmds[2]?.includes(' start '));
  } finally {
    await teardown(r);
  }
});

test('audio_fork: the server side dropping the socket closes the leg as a transport error', async () => {
  const r = await rig({ media: 'audio_fork' });
  try {
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg = await call.openMedia();
    const closed = once(leg, 'close') as Promise<[{ code: string }]>;
    // Stand-in for callpilot's end of the socket going away (process trouble, proxy timeout).
    for (const s of r.media.openSockets()) s.destroy();
    const [reason] = await closed;
    assert.is(reason.code, 'transport_error');
    assert.ok(r.fs.channel(uuid).bugAttached, 'FS keeps the bug until stop');
    await call.hangup();
  } finally {
    await teardown(r);
  }
});

test.run();
