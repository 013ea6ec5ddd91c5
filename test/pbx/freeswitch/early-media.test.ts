import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STREAM_SAFE_EVENTS } from '../../../src/pbx/freeswitch/freeswitch-adapter.ts';
import { ANNOUNCEMENTS, chinaRingback, concat, LineVoice, silence } from '../../support/progress-audio.ts';
import { RecordingMonitor } from '../../support/recording-monitor.ts';
import { rig, teardown, until } from './harness.ts';

const voice = new LineVoice();
test.after(() => voice.close());

const streamStarts = (commands: string[]): string[] => commands.filter((c) => /uuid_audio_stream \S+ start/.test(c));

test('480 after a 183 announcement: the +OK is not an answer, the stream starts on PROGRESS_MEDIA, NO_USER_RESPONSE', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const audio = await voice.say(ANNOUNCEMENTS.powered_off);
    r.fs.setEarlyCallee(() => ({ earlyAudio: audio, final: 480 }));
    const monitor = new RecordingMonitor();
    const result = await r.adapter.originate({ endpoint: 'sofia/gateway/trunk/13800138000', timeoutSec: 30, earlyMedia: monitor });
    // The FreeSWITCH cause mapping (hangup-causes.ts) calls NO_USER_RESPONSE a no-answer.
    assert.is(result.disposition, 'no-answer', JSON.stringify({ ...result, call: undefined }));
    if (result.disposition === 'answered') return;
    assert.is(result.causeText, 'NO_USER_RESPONSE');
    assert.is(result.progress?.source, 'cause');
    assert.equal(monitor.signals, ['early_media']);
    // The announcement reached the classifier before the 480 (frames at the stream rate).
    assert.ok(monitor.loudFrames >= 100, `loud frames ${monitor.loudFrames}`);
    const originate = r.fs.commands.find((c) => c.startsWith('bgapi originate')) ?? '';
    assert.match(originate, 'ignore_early_media=false');
    assert.is(streamStarts(r.fs.commands).length, 1);
    assert.is(r.fs.crashedBy, undefined);
  } finally {
    await teardown(r);
  }
});

test('404 is UNALLOCATED_NUMBER and invalid_number', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.fs.setEarlyCallee(() => ({ earlyAudio: silence(600), final: 404 }));
    const result = await r.adapter.originate({ endpoint: 'sofia/gateway/trunk/10000', earlyMedia: new RecordingMonitor() });
    assert.is(result.disposition === 'answered' ? 'answered' : result.causeText, 'UNALLOCATED_NUMBER');
    if (result.disposition === 'answered') return;
    assert.is(result.progress?.kind, 'invalid_number');
  } finally {
    await teardown(r);
  }
});

test('180 then 183 ringback then answer: never starts the stream on the bare 180 (it crashes FreeSWITCH 1.11.1)', async () => {
  assert.equal([...STREAM_SAFE_EVENTS].sort(), ['CHANNEL_ANSWER', 'CHANNEL_PROGRESS_MEDIA']);
  const r = await rig();
  try {
    await r.adapter.start();
    const startsAtRinging: number[] = [];
    r.fs.on('command', (c) => {
      if (/uuid_audio_stream \S+ start/.test(c)) startsAtRinging.push(r.fs.commands.length);
    });
    r.fs.setEarlyCallee(() => ({ ring: true, earlyAudio: chinaRingback(2000), final: 'answer', answerAudio: concat([silence(200)]) }));
    const monitor = new RecordingMonitor();
    const result = await r.adapter.originate({ endpoint: 'sofia/gateway/trunk/13800138001', earlyMedia: monitor });
    assert.is(result.disposition, 'answered');
    if (result.disposition !== 'answered') return;
    assert.equal(monitor.signals, ['ringing', 'early_media']);
    assert.is(r.fs.crashedBy, undefined, 'callpilot crashed FreeSWITCH');
    assert.is(streamStarts(r.fs.commands).length, 1);
    assert.ok(monitor.frames > 0);
    const leg = await result.call.openMedia();
    assert.is(streamStarts(r.fs.commands).length, 1, 'the answered call reuses the early stream');
    assert.not.ok(leg.closed);
    await result.call.hangup();
  } finally {
    await teardown(r);
  }
});

test('the peer models the crash: uuid_audio_stream on a ringing outbound leg kills FreeSWITCH', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.fs.setEarlyCallee(() => ({ ring: true, final: 480 }));
    let uuid = '';
    r.fs.on('command', (c) => {
      const m = /origination_uuid=([0-9a-f-]+)/.exec(c);
      if (m) uuid = m[1]!;
    });
    const dialling = r.adapter.originate({ endpoint: 'sofia/gateway/trunk/13800138002', earlyMedia: new RecordingMonitor() });
    await until(() => uuid !== '' && r.fs.channel(uuid).signalling === 'ringing', 'ringing', 3000);
    // What a naive bot does on CHANNEL_PROGRESS (callpilot never does: STREAM_SAFE_EVENTS):
    await (r.adapter as unknown as { client: { api(cmd: string): Promise<string> } }).client.api(`uuid_audio_stream ${uuid} start ws://127.0.0.1:1/x mono 8k`).catch(() => '');
    await until(() => r.fs.crashedBy !== undefined, 'crash', 3000);
    assert.match(r.fs.crashedBy ?? '', 'ringing');
    await dialling.catch(() => undefined);
  } finally {
    await teardown(r);
  }
});

test('a verdict before answer kills the unanswered channel and returns the verdict', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const audio = await voice.say(ANNOUNCEMENTS.invalid_number);
    r.fs.setEarlyCallee(() => ({ earlyAudio: audio, final: 404 }));
    const verdict = { kind: 'invalid_number', source: 'announcement', atMs: 900, evidence: '空号', heard: 'announcement' } as const;
    const result = await r.adapter.originate({ endpoint: 'sofia/gateway/trunk/10001', earlyMedia: new RecordingMonitor({ frames: 20, verdict }) });
    assert.is(result.disposition, 'failed');
    if (result.disposition === 'answered') return;
    assert.equal(result.progress, verdict);
    await until(() => r.fs.commands.some((c) => /uuid_kill|hangup/.test(c)), 'the channel killed', 3000);
  } finally {
    await teardown(r);
  }
});

test.run();
