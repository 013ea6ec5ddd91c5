import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioLeg } from '../../../src/media/index.ts';
import type { AsteriskConfig } from '../../../src/pbx/index.ts';
import type { HangupInfo, PbxCall } from '../../../src/pbx/types.ts';
import { nextCall, rms, sleep, startHarness, tone, type Harness } from './harness.ts';
import { until } from '../../support/wait.ts';
import { serveRoutes } from './route-server.ts';

type Media = AsteriskConfig['media'];

async function setUp(media: Media, format: AsteriskConfig['format'] = 'ulaw'): Promise<{ h: Harness; routes?: { close(): Promise<void> } }> {
  const h = await startHarness({ media, format, websocketClientId: 'callpilot' });
  if (media !== 'websocket-client') return { h };
  const routes = await serveRoutes(h.adapter.webSocketRoutes());
  h.asterisk.websocketClients.callpilot = `ws://127.0.0.1:${routes.port}/media`;
  return { h, routes };
}

async function answeredCallWithMedia(h: Harness): Promise<{ call: PbxCall; leg: AudioLeg; channelId: string }> {
  const callP = nextCall(h.adapter);
  const ch = h.asterisk.placeInboundCall({ args: ['flow=demo', 'lang=en'] });
  const call = await callP;
  // As the call runner does it: the answer overlaps the media set-up.
  const leg = await call.openMedia({ answer: true });
  return { call, leg, channelId: ch.id };
}

const transports: Array<[Media, AsteriskConfig['format'], 8000 | 16000]> = [
  ['websocket', 'ulaw', 8000],
  ['websocket', 'slin16', 16000],
  ['websocket-client', 'ulaw', 8000],
  ['audiosocket', 'ulaw', 8000],
  ['audiosocket', 'slin16', 16000],
  ['rtp', 'ulaw', 8000],
  ['rtp', 'slin16', 16000],
];

test('the peer keeps real time: slots that fell due while its timer was late go out together, none early', async () => {
  // The bridge's media clock is the test's: it stands still unless moved, so nothing here depends on this machine.
  let clock = 0;
  const h = await startHarness({ media: 'audiosocket', format: 'ulaw' }, { mediaClock: () => clock });
  try {
    const { leg, channelId } = await answeredCallWithMedia(h);
    // Tone frames only: with no packet coming, the leg's own caller clock fills silence.
    let frames = 0;
    leg.on('frame', (pcm) => {
      if (rms(pcm) > 1000) frames++;
    });
    h.asterisk.callerSays(channelId, tone(8000, 2000));
    await sleep(200);
    assert.is(frames, 0, 'no slot is due while the clock stands still');
    // The timer was 600 ms late (a stalled or loaded test process): all 30 slots due go out at its next firing.
    clock += 600;
    await until(() => frames >= 30, `30 caller frames (${frames} so far)`, 10_000);
    await sleep(200);
    assert.is(frames, 30, 'and no more than were due');
  } finally {
    await h.close();
  }
});

for (const [media, format, rate] of transports) {
  test(`${media}/${format}: media both ways, mark, barge-in flush, DTMF, hangup leaves nothing behind`, async () => {
    const { h, routes } = await setUp(media, format);
    try {
      const { call, leg, channelId } = await answeredCallWithMedia(h);
      assert.is(leg.sampleRate, rate);
      const ch = h.asterisk.channel(channelId);
      assert.ok(ch?.bridgeId, 'caller is in a bridge');
      assert.is(h.asterisk.liveBridgeIds().length, 1);

      // Caller -> bot: a tone the caller "says" arrives as 20 ms frames at the leg's rate.
      const frames: Int16Array[] = [];
      leg.on('frame', (pcm) => frames.push(pcm.slice()));
      h.asterisk.callerSays(channelId, tone(8000, 400));
      await until(() => frames.filter((f) => rms(f) > 2000).length >= 10, 'caller tone frames', 15_000);
      assert.ok(frames.every((f) => f.length === rate / 50), 'every caller frame is 20 ms');

      // Bot -> caller: paced playout reaches the caller's ear; the mark fires once it was heard.
      const line = ch?.line;
      assert.ok(line);
      const heardBefore = line.heardAudioFrames;
      leg.play(tone(rate, 300, 600));
      leg.mark('greeting-done');
      const marked = new Promise<string>((resolve) => leg.once('mark', resolve));
      assert.is(await marked, 'greeting-done');
      // All 15 frames of the 300 ms tone reach the caller. The peer may still be reading the last ones when the
      // mark fires on a busy machine, so wait for them (generous deadline) instead of counting at that instant.
      await until(() => line.heardAudioFrames - heardBefore >= 15, `15 bot frames heard (${line.heardAudioFrames - heardBefore} so far)`, 10_000);

      // Barge-in: a long prompt is flushed; the caller stops hearing it almost at once.
      leg.play(tone(rate, 3000, 600));
      await until(() => line.heardAudioFrames - heardBefore >= 20, 'prompt playing', 15_000);
      const dropped = leg.flush();
      assert.ok(dropped > 2000, `flush dropped ${dropped} ms`);
      // Frames already on the wire at the flush may still arrive (more of them when the peer lags): wait until the
      // caller hears nothing new for 300 ms, then most of the 3 s prompt must never have been heard.
      let settled = line.heardAudioFrames;
      for (let quiet = 0; quiet < 300; quiet += 20) {
        await sleep(20);
        if (line.heardAudioFrames !== settled) {
          settled = line.heardAudioFrames;
          quiet = 0;
        }
      }
      const heardOfLong = settled - heardBefore - 15;
      assert.ok(heardOfLong < 150 - dropped / 20 + 10, `caller heard ${heardOfLong} frames of a 150-frame prompt flushed with ${dropped} ms left`);
      if (media.startsWith('websocket')) {
        const ws = h.asterisk.channel(call.info.pbxCallId) && [...(h.asterisk as unknown as { channels: Map<string, { ws?: { textIn: string[] } }> }).channels.values()].find((c) => c.ws)?.ws;
        assert.ok(ws?.textIn.includes('FLUSH_MEDIA'), 'FLUSH_MEDIA reached chan_websocket');
        assert.ok(ws?.textIn.includes('MARK_MEDIA greeting-done'), 'MARK_MEDIA reached chan_websocket');
      }

      // DTMF: exactly one digit on the leg, one on the call.
      const legDigits: string[] = [];
      const callDigits: string[] = [];
      leg.on('dtmf', (d) => legDigits.push(d));
      call.on('dtmf', (d) => callDigits.push(d));
      h.asterisk.callerDtmf(channelId, '5');
      await until(() => legDigits.length === 1 && callDigits.length === 1, 'dtmf', 2000);
      await sleep(50);
      assert.equal(legDigits, ['5']);
      assert.equal(callDigits, ['5']);

      // Bot hangs up: caller, media channel and bridge all go.
      const closed = new Promise((resolve) => leg.once('close', resolve));
      const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
      await call.hangup(16);
      assert.equal(await hung, { cause: 16, causeText: 'Normal Clearing', by: 'bot' });
      await closed;
      await until(() => h.asterisk.liveChannelIds().length === 0 && h.asterisk.liveBridgeIds().length === 0, 'no channels or bridges left', 2000);
    } finally {
      await routes?.close();
      await h.close();
    }
  });
}

for (const media of ['websocket', 'audiosocket', 'rtp'] as const) {
  test(`${media}: caller hangup closes the leg and removes media channel and bridge`, async () => {
    const { h } = await setUp(media);
    try {
      const { call, leg, channelId } = await answeredCallWithMedia(h);
      const closed = new Promise<{ code: string }>((resolve) => leg.once('close', resolve));
      const hung = new Promise<HangupInfo>((resolve) => call.once('hangup', resolve));
      await h.asterisk.callerHangup(channelId);
      assert.is((await hung).by, 'caller');
      assert.is((await closed).code, 'caller_hangup');
      await until(() => h.asterisk.liveChannelIds().length === 0 && h.asterisk.liveBridgeIds().length === 0, 'clean', 2000);
    } finally {
      await h.close();
    }
  });
}

test('websocket: openMedia asks for server mode and dials /media/<connection id>', async () => {
  const { h } = await setUp('websocket');
  try {
    await answeredCallWithMedia(h);
    const em = h.asterisk.requests.find((r) => r.path === '/ari/channels/externalMedia');
    assert.ok(em);
    assert.is(em.query.transport, 'websocket');
    assert.is(em.query.encapsulation, 'none');
    assert.is(em.query.connection_type, 'server');
    assert.is(em.query.format, 'ulaw');
    // Each channel joins the bridge only once both exist and it may: the caller once answered, the media
    // channel once its externalMedia request was answered.
    const reqs = h.asterisk.requests;
    const bridge = reqs.find((r) => r.method === 'POST' && r.path === '/ari/bridges');
    const answer = reqs.find((r) => r.path.endsWith('/answer'));
    const adds = reqs.filter((r) => r.path.endsWith('/addChannel'));
    const callerAdd = adds.find((r) => !r.query.channel?.includes('-media-'));
    const mediaAdd = adds.find((r) => r.query.channel?.includes('-media-'));
    assert.ok(bridge?.repliedAt !== undefined && answer?.repliedAt !== undefined && em.repliedAt !== undefined && callerAdd && mediaAdd, 'every step made');
    for (const add of adds) assert.ok(add.at >= bridge.repliedAt, 'addChannel after the bridge exists');
    assert.ok(callerAdd.at >= answer.repliedAt, 'the caller is bridged only once answered');
    assert.ok(mediaAdd.at >= em.repliedAt, 'the media channel is bridged only once created');
  } finally {
    await h.close();
  }
});

test('openMedia({ answer }) asks for the bridge and the media channel while the answer is outstanding', async () => {
  const { h } = await setUp('websocket');
  try {
    const release = h.asterisk.holdRequests((r) => r.path.endsWith('/answer'));
    const callP = nextCall(h.adapter);
    h.asterisk.placeInboundCall({ args: ['flow=demo', 'lang=en'] });
    const call = await callP;
    const opening = call.openMedia({ answer: true });
    const seen = (path: string): boolean => h.asterisk.requests.some((r) => r.path === path);
    try {
      await until(() => seen('/ari/bridges') && seen('/ari/channels/externalMedia'), 'bridge and externalMedia requested during the answer', 10_000);
      // The media channel may already be bridged; the caller must wait for its answer.
      await until(() => h.asterisk.requests.some((r) => r.query.channel?.includes('-media-')), 'media channel bridged', 10_000);
      assert.not.ok(
        h.asterisk.requests.some((r) => r.path.endsWith('/addChannel') && !r.query.channel?.includes('-media-')),
        'the caller is not bridged before the answer',
      );
    } finally {
      release();
    }
    const leg = await opening;
    assert.is(leg.closed, false);
    const answer = h.asterisk.requests.find((r) => r.path.endsWith('/answer'));
    const callerAdd = h.asterisk.requests.find((r) => r.path.endsWith('/addChannel') && !r.query.channel?.includes('-media-'));
    assert.ok(answer?.repliedAt !== undefined && callerAdd && callerAdd.at >= answer.repliedAt, 'the caller joined after the answer');
  } finally {
    await h.close();
  }
});

test('websocket-client: Asterisk dials our /media route with the call in the query', async () => {
  const { h, routes } = await setUp('websocket-client');
  try {
    const { leg } = await answeredCallWithMedia(h);
    const em = h.asterisk.requests.find((r) => r.path === '/ari/channels/externalMedia');
    assert.is(em?.query.connection_type, 'client');
    assert.is(em?.query.external_host, 'callpilot');
    assert.match(em?.query.transport_data ?? '', /^v\(callpilot_media=/);
    assert.is(leg.closed, false);
  } finally {
    await routes?.close();
    await h.close();
  }
});

test('websocket-client: nobody listening -> ChannelDestroyed cause 3 -> openMedia rejects, nothing left', async () => {
  const { h, routes } = await setUp('websocket-client');
  try {
    await routes?.close();
    const callP = nextCall(h.adapter);
    h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    let error: Error | undefined;
    await call.openMedia().catch((err: Error) => (error = err));
    assert.ok(error);
    assert.match(error.message, /No route to destination|destroyed/);
    await until(() => h.asterisk.liveBridgeIds().length === 0, 'bridge removed', 2000);
  } finally {
    await h.close();
  }
});

test('audiosocket: nobody listening gives a clear error (Asterisk answers 500)', async () => {
  const { h } = await setUp('audiosocket');
  try {
    // Point Asterisk at a port nobody listens on.
    (h.cfg as { mediaHost: string }).mediaHost = '127.0.0.1';
    const dead = await import('node:net').then((net) => new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    }));
    (h.adapter as unknown as { audioSocket: { port: number } }).audioSocket.port = dead;
    const callP = nextCall(h.adapter);
    h.asterisk.placeInboundCall();
    const call = await callP;
    await call.answer();
    let error: Error | undefined;
    await call.openMedia().catch((err: Error) => (error = err));
    assert.match(error?.message ?? '', /internal error/);
    await until(() => h.asterisk.liveBridgeIds().length === 0, 'bridge removed', 2000);
  } finally {
    await h.close();
  }
});

test('audiosocket without in-band DTMF (older builds): the digit still reaches the leg once, from ARI', async () => {
  const { h } = await setUp('audiosocket');
  try {
    h.asterisk.audioSocketInBandDtmf = false;
    const { leg, channelId } = await answeredCallWithMedia(h);
    const digits: string[] = [];
    leg.on('dtmf', (d) => digits.push(d));
    h.asterisk.callerDtmf(channelId, '7');
    await until(() => digits.length === 1, 'digit', 2000);
    await sleep(300);
    assert.equal(digits, ['7']);
  } finally {
    await h.close();
  }
});

test('rtp: reordered, lost and duplicated packets still give one frame per packet slot', async () => {
  const { h } = await setUp('rtp');
  try {
    const { call, leg, channelId } = await answeredCallWithMedia(h);
    const mediaId = (call as unknown as { media: { mediaChannelId: string } }).media.mediaChannelId;
    const rtp = h.asterisk.channel(mediaId)?.rtp;
    assert.ok(rtp);
    const receiver = leg as unknown as { receiveStats: { duplicates: number; lost: number; late: number } };
    const counters = (): { duplicates: number; lost: number; late: number } => receiver.receiveStats;
    // Counted against the peer's own packets, not the wall clock: the peer's 20 ms timer runs slow on a busy
    // machine. The caller suppresses silence, so only the tone's 50 packets cross the impaired path; clean
    // packets after it push everything the receiver still holds or waits for out, and then every slot is
    // accounted for exactly, whatever the (random) first sequence number made the impairment hit.
    const line = h.asterisk.channel(channelId)?.line;
    assert.ok(line);
    // The receiver must have the stream before the tone: a loss or reordering at its very first packet is
    // invisible to any receiver (nothing came before to show a gap), and a loaded machine can get this far before
    // the peer's first tick.
    const legStats = (leg as unknown as { stats: { framesIn: number } }).stats;
    await until(() => legStats.framesIn > 0, 'the first caller packet', 10_000);
    line.silenceSuppression = true;
    let toneFrames = 0;
    leg.on('frame', (pcm) => {
      if (rms(pcm) > 1000) toneFrames++;
    });
    await sleep(100);
    const before = counters();
    const slots0 = rtp.ticks;
    rtp.impairment = { reorderEvery: 7, dropEvery: 11, duplicateEvery: 5 };
    h.asterisk.callerSays(channelId, tone(8000, 1000));
    await until(() => rtp.ticks - slots0 >= 50, 'the tone\'s 50 packet slots', 10_000);
    rtp.impairment = {};
    line.silenceSuppression = false;
    const dropped = rtp.dropped;
    const duplicated = rtp.duplicated;
    await until(() => toneFrames + counters().lost - before.lost >= 50, () => `the tone's 50 slots played or concealed (${toneFrames} played, ${counters().lost - before.lost} concealed)`, 10_000);
    await sleep(100);
    const after = counters();
    assert.ok(dropped > 0 && duplicated > 0, 'the impairment dropped and repeated packets');
    assert.is(toneFrames, 50 - dropped, 'every tone packet that got through was played once');
    assert.is(after.lost - before.lost, dropped, 'every dropped packet was concealed');
    assert.is(after.duplicates - before.duplicates, duplicated, 'every repeat was recognised and dropped');
    assert.is(after.late - before.late, 0, 'nothing counted late: reordered packets came within the window');
  } finally {
    await h.close();
  }
});

test.run();
