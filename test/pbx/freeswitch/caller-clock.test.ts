import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFreeswitchAdapter } from '../../../src/pbx/freeswitch/index.ts';
import type { LegCloseReason } from '../../../src/media/index.ts';
import type { HangupInfo } from '../../../src/pbx/types.ts';
import { type Rig, inboundCall, log, rig, teardown, tone, until } from './harness.ts';

/**
 * Capture k: a caller whose phone suppresses silence sends no RTP, and mod_audio_stream then sends no frame at
 * all. FreeSWITCH legs run on the shared caller clock (src/media/leg): silence in real time while caller audio
 * is missing, so end-of-turn and no-input timers see time pass, and a dead-media timeout ends the call.
 */

async function withClock(r: Rig, clock: { callerGapMs?: number; deadMediaMs?: number }): Promise<Rig> {
  await r.adapter.stop();
  const adapter = createFreeswitchAdapter(r.cfg, { log, clock });
  r.media.routes = adapter.webSocketRoutes();
  return { ...r, adapter };
}

test('a caller who sends nothing: openMedia does not wait for caller audio, and the leg hears silence in real time', async () => {
  let r = await rig({}, { callerSuppressesSilence: true });
  try {
    r = await withClock(r, { callerGapMs: 200, deadMediaMs: 0 });
    await r.adapter.start();
    const { call } = await inboundCall(r);
    const leg = await call.openMedia();
    const frames: number[] = [];
    leg.on('frame', () => frames.push(performance.now()));
    await until(() => frames.length >= 40, 'silence frames while the caller sends nothing', 10000);
    const stats = (leg as unknown as { stats: { framesIn: number; framesFilled: number } }).stats;
    assert.is(stats.framesIn, 0, 'no real caller frame arrived');
    assert.ok(stats.framesFilled >= 40);
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('caller audio stops after speech (capture k): the clock keeps running from where it stopped', async () => {
  let r = await rig({}, { callerSuppressesSilence: true });
  try {
    r = await withClock(r, { callerGapMs: 200, deadMediaMs: 0 });
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const leg = await call.openMedia();
    const stats = (leg as unknown as { stats: { framesIn: number; framesFilled: number } }).stats;
    r.fs.channel(uuid).stream?.sendAudio(tone(400));
    await until(() => stats.framesIn >= 20, 'the caller speaks');
    const spoken = stats.framesIn;
    await until(() => stats.framesFilled >= 25, 'then silence fills in');
    assert.is(stats.framesIn, spoken, 'no real frames during the gap');
    await leg.close({ code: 'bot_hangup' });
  } finally {
    await teardown(r);
  }
});

test('dead media: no caller audio for media.deadMediaMs closes the leg dead_media and hangs the call up (41)', async () => {
  let r = await rig({}, { callerSuppressesSilence: true });
  try {
    r = await withClock(r, { callerGapMs: 200, deadMediaMs: 600 });
    await r.adapter.start();
    const { call, uuid } = await inboundCall(r);
    const hungUp = once(call, 'hangup') as Promise<[HangupInfo]>;
    const leg = await call.openMedia();
    const [reason] = (await once(leg, 'close')) as [LegCloseReason];
    assert.is(reason.code, 'dead_media');
    const [info] = await hungUp;
    assert.equal(info, { cause: 41, causeText: 'NORMAL_TEMPORARY_FAILURE', by: 'bot' });
    assert.ok(r.fs.commands.includes(`api uuid_kill ${uuid} NORMAL_TEMPORARY_FAILURE`));
  } finally {
    await teardown(r);
  }
});

test.run();
