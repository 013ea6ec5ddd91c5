import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioLeg, LegCloseReason } from '../../../src/media/index.ts';
import type { HangupInfo, PbxCall, TransferOutcome } from '../../../src/pbx/types.ts';
import { type Rig, inboundCall, rig, teardown, tone, until } from './harness.ts';

/**
 * Playback on the FreeSWITCH peer, which lays bot audio on a modelled RTP wire the way captures i, i2 and i3
 * showed: ~160 ms holes between queued broadcasts, gapless lazy `file_string` playlists, a lead-in when entry
 * 0 opens, `uuid_break all` silencing in 19 ms, PLAYBACK_STOP `done` after CHANNEL_HANGUP on a cut file.
 */

interface Live {
  call: PbxCall;
  uuid: string;
  leg: AudioLeg;
  /** performance.now() of every `played` frame the leg emitted (its playout truth). */
  played: number[];
}

async function liveCall(r: Rig): Promise<Live> {
  await r.adapter.start();
  const { call, uuid } = await inboundCall(r);
  await call.answer();
  const leg = await call.openMedia();
  const played: number[] = [];
  leg.on('played', () => played.push(performance.now()));
  return { call, uuid, leg, played };
}

function markAt(leg: AudioLeg, name: string): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: string): void => {
      if (m !== name) return;
      leg.off('mark', on);
      resolve(performance.now());
    };
    leg.on('mark', on);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
const wireMs = (r: Rig, uuid: string): number => r.fs.wireAudio(uuid).segments.reduce((n, s) => n + s.ms, 0);

test('the peer is faithful: two queued broadcasts leave a hole of ~160 ms, a file_string of both none (captures i, i2)', async () => {
  const r = await rig();
  try {
    const { uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    channel.files.set('chunks/a.r16', tone(300));
    channel.files.set('chunks/b.r16', tone(300));
    r.fs.broadcastFile(channel, 'chunks/a.r16');
    r.fs.broadcastFile(channel, 'chunks/b.r16');
    await until(() => channel.playbacks.every((p) => p.status === 'done'), 'both played');
    const queued = r.fs.wireAudio(uuid).holesMs;
    assert.is(queued.length, 1);
    assert.ok(queued[0] >= 140 && queued[0] <= 170, `queued hole ${queued[0]} ms`);
    channel.wire.length = 0;
    r.fs.broadcastFile(channel, 'file_string://chunks/a.r16!chunks/b.r16');
    await until(() => channel.playbacks.length === 3 && channel.playbacks[2].status === 'done', 'list played');
    const silence = channel.wire.filter((w) => w.kind === 'silence');
    assert.is(silence.length, 1, 'entry 0 opened: lead-in silence');
    assert.is(silence[0].ms, 250);
    assert.equal(r.fs.wireAudio(uuid).holesMs, [0]);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('a prompt of three sentences handed over as the TTS produces them plays as one playlist with no hole on the wire', async () => {
  const r = await rig();
  try {
    const { uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    const done = markAt(leg, 'prompt-end');
    leg.play(tone(900));
    await sleep(300);
    leg.play(new Int16Array(16 * 200)); // the speaker's pause between sentences
    leg.play(tone(1200, 16000, 500));
    await sleep(500);
    leg.play(tone(700, 16000, 600));
    leg.mark('prompt-end');
    await done;
    const { segments, holesMs } = r.fs.wireAudio(uuid);
    assert.is(channel.playbacks.length, 1, `one broadcast, got ${channel.playbacks.map((p) => p.file.slice(0, 40)).join(' | ')}`);
    assert.match(channel.playbacks[0].file, /^file_string:\/\/\/tmp\/\S+_none\.tmp\.r16!\/tmp\/\S+_0\.tmp\.r16!/);
    assert.ok(segments.length >= 4, `${segments.length} files on the wire`);
    assert.ok(Math.max(...holesMs) <= 40, `holes ${holesMs.join(', ')} ms`);
    assert.ok(Math.abs(wireMs(r, uuid) - 3000) <= 1, `wire carried ${wireMs(r, uuid)} ms of 3000`);
    assert.is(channel.wire.filter((w) => w.kind === 'silence').length, 0, 'the lead-in was skipped');
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('latency, heard audio and marks follow FreeSWITCH: nothing counts as played before PLAYBACK_START, a barge-in counts what the wire carried', async () => {
  const r = await rig();
  try {
    const { uuid, leg, played } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    const stalls = monitorEventLoopDelay({ resolution: 10 });
    stalls.enable();
    const sentAt = performance.now();
    leg.play(tone(2000));
    await until(() => played.length > 0, 'first played frame');
    const startedAt = channel.playbacks[0].startedAt ?? Number.POSITIVE_INFINITY;
    assert.ok(played[0] >= startedAt, 'the first played frame comes after PLAYBACK_START, not when the chunk was sent');
    assert.ok(startedAt - sentAt >= 100, 'the peer starts ~110 ms after the broadcast');
    await until(() => played.length >= 30, '600 ms played');
    leg.flush();
    await until(() => channel.playing === undefined, 'broken');
    const heardOnWire = wireMs(r, uuid);
    const heardByLeg = played.length * 20;
    stalls.disable();
    // The leg never claims more than the caller heard; its pacer may lag on a busy machine, never lead.
    assert.ok(heardByLeg <= heardOnWire + 40, `leg ${heardByLeg} ms, wire ${heardOnWire} ms`);
    // How close it stays depends on this process not stalling (the peer's wire keeps FreeSWITCH's clock).
    const stalledMs = stalls.max / 1e6;
    if (stalledMs < 60) assert.ok(heardByLeg >= heardOnWire - 100, `leg ${heardByLeg} ms, wire ${heardOnWire} ms`);
    assert.ok(channel.playbacks[0].status === 'break');
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('PLAYBACK_START read 400 ms late (a loaded host): the leg dates the playout from FreeSWITCH\'s own stamp, so stored latency is the wire\'s', async () => {
  const r = await rig({}, { playbackStartDelayMs: 400 });
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  try {
    const { uuid, leg, played } = await liveCall(r);
    let lagAtFirst: number | undefined;
    leg.once('played', () => (lagAtFirst = leg.playoutLagMs));
    leg.play(tone(1000));
    await until(() => played.length > 0, 'first played frame');
    stalls.disable();
    const [first] = r.fs.wireAudio(uuid).segments;
    assert.ok(first, 'audio on the wire');
    assert.ok(played[0] - first.at >= 300, `the leg heard of it late: ${(played[0] - first.at).toFixed(0)} ms`);
    const datedAt = played[0] - (lagAtFirst ?? 0);
    // The leg learns FreeSWITCH's clock from the promptest event it read: when this process stalled on every event
    // of the call (a loaded machine), the stamp is placed up to that stall late. Reading PLAYBACK_START's arrival
    // instead would date it ~385 ms late, beyond any allowance here.
    const stalledMs = stalls.max / 1e6;
    const allowance = stalledMs < 30 ? 40 : Math.min(300, 40 + stalledMs);
    assert.ok(datedAt - first.at >= -40, `dated ${(first.at - datedAt).toFixed(1)} ms before the first packet on the wire`);
    assert.ok(datedAt - first.at <= allowance, `dated ${(datedAt - first.at).toFixed(1)} ms from the first packet on the wire (allowed ${allowance.toFixed(0)})`);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('the end mark fires when the wire has carried the prompt, not when it was handed over', async () => {
  const r = await rig();
  try {
    const { uuid, leg } = await liveCall(r);
    const done = markAt(leg, 'end');
    leg.play(tone(800));
    leg.mark('end');
    const at = await done;
    const { segments } = r.fs.wireAudio(uuid);
    const wireEnd = segments[segments.length - 1].at + segments[segments.length - 1].ms;
    assert.ok(at >= wireEnd - 40, `mark ${Math.round(wireEnd - at)} ms before the wire finished`);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('TTS falling behind: audio that comes after the playlist ended starts a new one, and all of it is played', async () => {
  const r = await rig();
  try {
    const { uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    leg.play(tone(300));
    await until(() => channel.playbacks[0]?.status === 'done', 'first sentence over');
    const done = markAt(leg, 'end');
    leg.play(tone(500));
    leg.mark('end');
    await done;
    assert.is(channel.playbacks.length, 2);
    assert.ok(Math.abs(wireMs(r, uuid) - 800) <= 1, `wire carried ${wireMs(r, uuid)} ms`);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('a chunk FreeSWITCH skipped (file gone when reached) is seen in playback_ms and sent again', async () => {
  const r = await rig();
  try {
    const { uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    const done = markAt(leg, 'end');
    leg.play(tone(1240));
    leg.mark('end');
    await until(() => channel.playbacks[0]?.startedAt !== undefined, 'playing');
    // The second file disappears before the playlist reaches it: FS skips it and ends the list early.
    channel.files.delete(`/tmp/${uuid}_1.tmp.r16`);
    await done;
    assert.ok(channel.playbacks.length >= 2, 'a second playlist carried the lost chunk');
    assert.ok(Math.abs(wireMs(r, uuid) - 1240) <= 1, `wire carried ${wireMs(r, uuid)} ms of 1240`);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('ESL drop during the hand-over: announcements lost, the playlist goes out after the re-subscription, the prompt plays in full', async () => {
  const r = await rig();
  try {
    const { uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    // A first prompt teaches the leg FS's file names.
    const first = markAt(leg, 'first');
    leg.play(tone(300));
    leg.mark('first');
    await first;
    const events: string[] = [];
    r.adapter.on('ready', (ready) => events.push(ready ? 'up' : 'down'));
    r.fs.dropEslConnections(250);
    await until(() => events.includes('down'), 'ESL down');
    const done = markAt(leg, 'second');
    let markedBeforeUp = false;
    leg.once('mark', () => (markedBeforeUp = !r.adapter.ready));
    leg.play(tone(1000));
    leg.mark('second');
    await until(() => channel.files.size >= 3, 'files written while nobody listens');
    await done;
    assert.not.ok(markedBeforeUp, 'the prompt was not taken as spoken while FreeSWITCH could not be told to play it');
    assert.ok(Math.abs(wireMs(r, uuid) - 1300) <= 1, `wire carried ${wireMs(r, uuid)} ms of 1300`);
    const broadcasts = r.fs.commands.filter((c) => c.startsWith(`api uuid_broadcast ${uuid}`));
    assert.is(broadcasts.length, 2);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('ESL drop before any announcement: the audio is sent again once the connection is back, and plays', async () => {
  const r = await rig();
  try {
    const { uuid, leg } = await liveCall(r);
    r.fs.dropEslConnections(300);
    await until(() => !r.adapter.ready, 'ESL down');
    const done = markAt(leg, 'end');
    leg.play(tone(600));
    leg.mark('end');
    await done;
    assert.ok(r.adapter.ready);
    const { segments } = r.fs.wireAudio(uuid);
    assert.ok(Math.abs(wireMs(r, uuid) - 600) <= 1, `wire carried ${wireMs(r, uuid)} ms of 600 (${segments.length} files)`);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('announcements slower than the leg waits (a loaded FreeSWITCH): the audio is sent again, and the caller hears the prompt once', async () => {
  // Past ANNOUNCE_WAIT_MS x ANNOUNCE_GIVE_UP the first chunks go again as new files; the late announcements of
  // the given-up ones must not shift which file holds which chunk, or the playlist lists the old files too.
  const r = await rig({}, { announceDelayMs: 1500 });
  try {
    const { uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    const done = markAt(leg, 'end');
    leg.play(tone(1200));
    leg.mark('end');
    await done;
    await until(() => channel.playbacks.length > 0 && channel.playbacks.every((p) => p.status === 'done'), 'played out');
    const { segments } = r.fs.wireAudio(uuid);
    assert.ok(Math.abs(wireMs(r, uuid) - 1200) <= 1, `wire carried ${wireMs(r, uuid)} ms of 1200 (${segments.map((s) => s.file?.replace(/^.*_/, '')).join(' ')})`);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('bot hangup right after the last words: uuid_kill waits for PLAYBACK_STOP, so all of them are heard', async () => {
  const r = await rig();
  try {
    const { call, uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    let killAt = 0;
    r.fs.on('command', (c) => {
      if (c.startsWith(`api uuid_kill ${uuid}`)) killAt = performance.now();
    });
    leg.play(tone(1200));
    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    await call.hangup(16);
    await hungUp;
    assert.ok(killAt > 0);
    assert.ok(killAt >= (channel.playbacks[0].endedAt ?? Number.POSITIVE_INFINITY), 'kill after PLAYBACK_STOP');
    assert.ok(Math.abs(wireMs(r, uuid) - 1200) <= 1, `wire carried ${wireMs(r, uuid)} ms of 1200`);
  } finally {
    await teardown(r);
  }
});

test('transfer after the last words: waits for them, then reports connected on CHANNEL_BRIDGE', async () => {
  const r = await rig();
  try {
    const { call, uuid, leg } = await liveCall(r);
    r.fs.setDialplan((extension, context) => (extension === 'agent' && context === 'default' ? 'bridge' : 'no-route'));
    const outcome = once(call, 'transferOutcome') as Promise<[TransferOutcome]>;
    leg.play(tone(700));
    await call.transfer(undefined, 'caller wants a human');
    const channel = r.fs.channel(uuid);
    assert.ok(Math.abs(wireMs(r, uuid) - 700) <= 1, `wire carried ${wireMs(r, uuid)} ms of 700 before the transfer`);
    assert.is(channel.transferredContext, 'default');
    const [o] = await outcome;
    assert.is(o.result, 'connected');
    assert.match(o.detail ?? '', channel.bridgedTo ?? 'x');
  } finally {
    await teardown(r);
  }
});

test('transfer to an extension the context does not have: outcome failed with NO_ROUTE_DESTINATION', async () => {
  const r = await rig({ transfer: { extension: 'agent', dialplan: 'XML', context: 'public' } });
  try {
    const { call } = await liveCall(r);
    r.fs.setDialplan((extension, context) => (extension === 'agent' && context === 'default' ? 'bridge' : 'no-route'));
    const outcome = once(call, 'transferOutcome') as Promise<[TransferOutcome]>;
    await call.transfer(undefined);
    const [o] = await outcome;
    assert.equal({ result: o.result, cause: o.cause, causeText: o.causeText }, { result: 'failed', cause: 3, causeText: 'NO_ROUTE_DESTINATION' });
  } finally {
    await teardown(r);
  }
});

test('caller hangs up during the last file: PLAYBACK_STOP `done` after CHANNEL_HANGUP is not taken as played (capture i3b)', async () => {
  const r = await rig();
  try {
    const { call, uuid, leg } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    let marked = false;
    leg.on('mark', () => (marked = true));
    leg.play(tone(1500));
    leg.mark('end');
    await until(() => r.fs.wireAudio(uuid).segments.length >= 2, 'second file playing');
    const closed = once(leg, 'close') as Promise<[LegCloseReason]>;
    await r.fs.hangupFromCaller(uuid);
    const [reason] = await closed;
    assert.is(reason.code, 'caller_hangup');
    assert.is(channel.playbacks[0].status, 'done', 'FS said done');
    assert.ok(wireMs(r, uuid) < 1500, 'but the file was cut');
    assert.not.ok(marked, 'the end mark never fired');
    assert.ok(call.listenerCount('hangup') >= 0);
  } finally {
    await teardown(r);
  }
});

test('FreeSWITCH crash (ESL and media cut at once): the call ends NETWORK_OUT_OF_ORDER by the PBX, the leg pbx_gone', async () => {
  const r = await rig();
  try {
    const { call, leg } = await liveCall(r);
    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    const closed = once(leg, 'close') as Promise<[LegCloseReason]>;
    r.fs.crash(5000);
    const [reason] = await closed;
    const [info] = await hungUp;
    assert.is(reason.code, 'pbx_gone');
    assert.equal(info, { cause: 38, causeText: 'NETWORK_OUT_OF_ORDER', by: 'pbx' });
  } finally {
    await teardown(r);
  }
});

test('the lead-in is measured back from playback_ms when FreeSWITCH plays it anyway', async () => {
  const r = await rig({ skipPlaylistLeadIn: false });
  try {
    const { uuid, leg, played } = await liveCall(r);
    const channel = r.fs.channel(uuid);
    const done = markAt(leg, 'end');
    leg.play(tone(500));
    leg.mark('end');
    await done;
    assert.is(channel.wire.filter((w) => w.kind === 'silence').length, 1, 'no skip entry: the lead-in plays');
    const firstAudio = r.fs.wireAudio(uuid).segments[0].at;
    assert.ok(played[0] >= firstAudio - 20, 'played frames start with the audio, after the lead-in');
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('originate asks for RTP keepalive between prompts (send_silence_when_idle), configurable', async () => {
  for (const [keepalive, expected] of [
    [400, 'send_silence_when_idle=400'],
    [0, undefined],
  ] as const) {
    const r = await rig({ keepaliveSilence: keepalive });
    try {
      await r.adapter.start();
      const result = await r.adapter.originate({ endpoint: 'sofia/gateway/trunk/13800138000' });
      const cmd = r.fs.commands.find((c) => c.startsWith('bgapi originate')) ?? '';
      if (expected) assert.ok(cmd.includes(expected), cmd);
      else assert.not.ok(cmd.includes('send_silence_when_idle'), cmd);
      if (result.disposition === 'answered') await result.call.hangup();
    } finally {
      await teardown(r);
    }
  }
});

test.run();
