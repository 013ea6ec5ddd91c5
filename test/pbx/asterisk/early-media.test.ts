import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHarness } from './harness.ts';
import { until } from '../../support/wait.ts';
import { RecordingMonitor } from '../../support/recording-monitor.ts';
import { ANNOUNCEMENTS, chinaRingback, concat, LineVoice, silence } from '../../support/progress-audio.ts';

const voice = new LineVoice();
test.after(() => voice.close());

const ORDER = ['POST /ari/bridges', 'POST /ari/channels/externalMedia', 'POST /ari/bridges/addChannel', 'POST /ari/channels/create', 'POST /ari/bridges/addChannel', 'POST /ari/channels/dial'];

function requestOrder(requests: Array<{ method: string; path: string }>): string[] {
  return requests
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path.replace(/\/bridges\/[^/]+\/addChannel/, '/bridges/addChannel').replace(/\/channels\/[^/]+\/dial/, '/channels/dial')}`);
}

/** 20 ms frames (8 kHz) with a sample above the monitor's loudness threshold. */
function loudFrames(audio: Int16Array): number {
  let loud = 0;
  for (let at = 0; at + 160 <= audio.length; at += 160) if (audio.subarray(at, at + 160).some((v) => Math.abs(v) > 500)) loud++;
  return loud;
}

test('early media 480: the announcement reaches the monitor frame for frame before the verdict from cause 19', async () => {
  const h = await startHarness();
  try {
    const audio = concat([await voice.say(ANNOUNCEMENTS.powered_off), silence(100)]);
    h.asterisk.earlyMedia = { earlyAudio: audio, final: 480 };
    const monitor = new RecordingMonitor();
    const result = await h.adapter.originate({ endpoint: 'PJSIP/sipp-uas', callerId: '"Voice Bot" <1000>', timeoutSec: 30, flow: 'demo', lang: 'zh', earlyMedia: monitor });
    assert.is(result.disposition, 'unreachable');
    if (result.disposition === 'answered') return;
    assert.is(result.cause, 19);
    assert.is(result.progress?.kind, 'unreachable');
    assert.is(result.progress?.source, 'cause');
    assert.is(result.progress?.heard, 'announcement');
    // Frame for frame: every 20 ms of the announcement. After its last packet the leg's caller clock fills the
    // ~330 ms before the 480 with silence (media.callerGapMs), so a few more frames may follow, never fewer.
    const expected = audio.length / 160;
    assert.ok(monitor.frames >= expected - 2 && monitor.frames <= expected + 40, `frames ${monitor.frames}, announcement ${expected}`);
    const loudExpected = loudFrames(audio);
    assert.ok(Math.abs(monitor.loudFrames - loudExpected) <= 3, `loud frames ${monitor.loudFrames}, announcement ${loudExpected}`);
    assert.equal([...monitor.rates], [8000]);
    assert.equal(monitor.signals, ['early_media']);
    assert.equal(requestOrder(h.asterisk.requests).slice(0, 6), ORDER);
    const create = h.asterisk.requests.find((r) => r.path === '/ari/channels/create');
    assert.is(create?.query.appArgs, 'flow=demo,lang=zh');
    assert.is((create?.body as { variables: Record<string, string> }).variables['CALLERID(all)'], '"Voice Bot" <1000>');
    assert.not.ok(h.asterisk.requests.some((r) => r.path.endsWith('/answer')), 'never answers an outbound channel');
    // Bridge and externalMedia are ours to delete (they stay up in Asterisk after the 480).
    await until(() => h.asterisk.liveBridgeIds().length === 0 && h.asterisk.liveChannelIds().length === 0, 'bridge and media torn down', 3000);
    await until(() => h.adapter.activeCalls === 0, 'the attempt forgotten', 3000);
  } finally {
    await h.close();
  }
});

test('early media 404: cause 1 is invalid_number', async () => {
  const h = await startHarness();
  try {
    h.asterisk.earlyMedia = { earlyAudio: await voice.say(ANNOUNCEMENTS.invalid_number), final: 404 };
    const result = await h.adapter.originate({ endpoint: 'PJSIP/sipp-uas', earlyMedia: new RecordingMonitor() });
    assert.is(result.disposition, 'unreachable');
    if (result.disposition === 'answered') return;
    assert.is(result.cause, 1);
    assert.is(result.progress?.kind, 'invalid_number');
  } finally {
    await h.close();
  }
});

test('a verdict before answer hangs up the ringing channel and returns the verdict', async () => {
  const h = await startHarness();
  try {
    h.asterisk.earlyMedia = { earlyAudio: await voice.say(ANNOUNCEMENTS.invalid_number), final: 404 };
    const verdict = { kind: 'invalid_number', source: 'announcement', atMs: 1200, evidence: '空号', heard: 'announcement' } as const;
    const monitor = new RecordingMonitor({ frames: 60, verdict });
    const result = await h.adapter.originate({ endpoint: 'PJSIP/sipp-uas', earlyMedia: monitor });
    assert.is(result.disposition, 'failed');
    if (result.disposition === 'answered') return;
    assert.equal(result.progress, verdict);
    await until(() => h.asterisk.requests.some((r) => r.method === 'DELETE' && /\/channels\/callpilot-out-[^/]+$/.test(r.path)), 'DELETE of the dialled channel', 3000);
    assert.is(monitor.framesAfterStop, 0);
    await until(() => h.asterisk.liveBridgeIds().length === 0, 'bridge destroyed', 3000);
  } finally {
    await h.close();
  }
});

test('180, then 183 ringback, then answer: state stays Ringing, the answered call keeps the same leg', async () => {
  const h = await startHarness({}, { timeScale: 0.2 });
  try {
    const answer = await voice.say('喂，你好');
    const ringback = chinaRingback(3000);
    h.asterisk.earlyMedia = { ringMs: 1000, earlyAudio: ringback, final: 'answer', answerAudio: concat([answer, silence(2000)]) };
    const monitor = new RecordingMonitor();
    const result = await h.adapter.originate({ endpoint: 'PJSIP/sipp-uas', lang: 'zh', earlyMedia: monitor });
    assert.is(result.disposition, 'answered');
    if (result.disposition !== 'answered') return;
    assert.is(result.progress?.kind, 'answered');
    assert.equal(monitor.signals, ['ringing', 'early_media']);
    // Judged by content, not by how many frames fit in the wall-clock time before the answer: every frame of the
    // 1 s tone, and the 2 s of silence after it too (all but the few packets still in flight when 200 OK came).
    const toneFrames = loudFrames(ringback);
    assert.ok(Math.abs(monitor.loudFrames - toneFrames) <= 2, `tone frames ${monitor.loudFrames} of ${toneFrames}`);
    assert.ok(monitor.frames - monitor.loudFrames >= (ringback.length / 160 - toneFrames) / 2, `ringback frames ${monitor.frames} of ${ringback.length / 160}`);
    const leg = await result.call.openMedia();
    let after = 0;
    leg.on('frame', () => after++);
    await until(() => after >= 50, 'callee audio after answer on the same leg', 5000);
    assert.is(monitor.framesAfterStop, 0, 'the monitor is not fed after answer');
    // No second media set-up after answer: one bridge, one externalMedia.
    assert.is(h.asterisk.requests.filter((r) => r.path === '/ari/channels/externalMedia').length, 1);
    await result.call.hangup();
  } finally {
    await h.close();
  }
});

test.run();
