import dgram from 'node:dgram';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioLeg } from '../../../src/media/index.ts';
import type { MediaRejectReason } from '../../../src/pbx/index.ts';
import { encodeAudioSocketMessage } from '../../../src/pbx/asterisk/media/audiosocket-frame-parser.ts';
import type { RtpLeg } from '../../../src/pbx/asterisk/media/rtp-leg.ts';
import { RtpPacketizer } from '../../../src/pbx/asterisk/media/rtp-packet.ts';
import { capturingTestLog } from '../../support/run-log.ts';
import { nextCall, rms, sleep, startHarness, tone, type Harness } from './harness.ts';
import { until } from '../../support/wait.ts';

/*
 * Issue 9: the AudioSocket and RTP listeners accept only what callpilot itself set up through ARI. An AudioSocket
 * connection must name, first thing, a UUID callpilot just handed to externalMedia and has not used yet; RTP is
 * heard only from the address and port the call's UnicastRTP channel reported. Everything else is dropped,
 * counted (mediaRejected -> callpilot_media_rejected_total) and logged at a bounded rate.
 */

function rejections(h: Harness): Array<[string, MediaRejectReason]> {
  const seen: Array<[string, MediaRejectReason]> = [];
  h.adapter.on('mediaRejected', (transport, reason) => seen.push([transport, reason]));
  return seen;
}

async function liveCall(h: Harness): Promise<{ leg: AudioLeg; channelId: string }> {
  const callP = nextCall(h.adapter);
  const ch = h.asterisk.placeInboundCall({ args: ['flow=demo', 'lang=en'] });
  const call = await callP;
  await call.answer();
  return { leg: await call.openMedia(), channelId: ch.id };
}

/** Connects to callpilot's AudioSocket port, sends `bytes`, and resolves once callpilot closed the connection. */
function audioSocketAttempt(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
    setTimeout(() => reject(new Error('callpilot kept the connection open')), 10_000).unref();
  });
}

function uuidMessage(uuid: string): Buffer {
  return encodeAudioSocketMessage(0x01, Buffer.from(uuid.replaceAll('-', ''), 'hex'));
}

test('audiosocket: an unknown UUID, a used one and a connection that starts with audio are closed at once, counted, warned at a bounded rate', async () => {
  const { log, lines } = capturingTestLog();
  const h = await startHarness({ media: 'audiosocket' }, {}, true, log);
  const seen = rejections(h);
  try {
    const { leg } = await liveCall(h);
    const port = (h.adapter as unknown as { audioSocket: { port: number } }).audioSocket.port;
    const used = h.asterisk.requests.find((r) => r.path === '/ari/channels/externalMedia')?.query.data;
    assert.ok(used, 'the UUID callpilot handed to externalMedia');

    await audioSocketAttempt(port, uuidMessage(randomUUID()));
    await audioSocketAttempt(port, uuidMessage(used));
    await audioSocketAttempt(port, encodeAudioSocketMessage(0x10, Buffer.alloc(320)));
    await until(() => seen.length === 3, 'three rejections', 5000);
    assert.equal(seen, [
      ['audiosocket', 'unknown_uuid'],
      ['audiosocket', 'unknown_uuid'],
      ['audiosocket', 'bad_start'],
    ]);
    assert.is(leg.closed, false, 'the real call keeps its media');

    // A scan: 30 more bad connections log a handful of lines, not one each.
    for (let i = 0; i < 30; i++) await audioSocketAttempt(port, uuidMessage(randomUUID()));
    await until(() => seen.length === 33, '33 rejections', 5000);
    const warned = lines.filter((l) => l.level === 'warn' && /^AudioSocket connection/.test(l.msg));
    assert.ok(warned.length >= 3 && warned.length <= 8, `${warned.length} warn lines for 33 rejected connections`);
    assert.ok(warned.some((l) => typeof l.suppressed === 'number'), 'a summary line says how many were suppressed');
  } finally {
    await h.close();
  }
});

test('rtp: packets from anyone but the UnicastRTP peer are dropped and counted; the caller is still heard', async () => {
  const h = await startHarness({ media: 'rtp' });
  const seen = rejections(h);
  const intruder = dgram.createSocket('udp4');
  try {
    const { leg, channelId } = await liveCall(h);
    const frames: Int16Array[] = [];
    leg.on('frame', (pcm) => frames.push(pcm.slice()));
    const target = h.asterisk.requests.find((r) => r.path === '/ari/channels/externalMedia')?.query.external_host;
    assert.ok(target, 'external_host of the RTP leg');
    const [host, port] = target.split(':');

    // 50 loud u-law packets (0x00/0x80 alternate between full-scale negative and positive) from another port.
    const packetizer = new RtpPacketizer(0, 0x1234, 100, 1000);
    for (let i = 0; i < 50; i++) {
      const packet = Buffer.alloc(172);
      packetizer.writeHeader(packet, 160);
      for (let j = 12; j < 172; j++) packet[j] = j % 2 === 0 ? 0x00 : 0x80;
      intruder.send(packet, Number(port), host);
      await sleep(5);
    }
    await until(() => seen.length >= 50, `50 rejected packets (${seen.length} so far)`, 10_000);
    assert.ok(seen.every(([t, r]) => t === 'rtp' && r === 'wrong_source'));
    assert.is((leg as RtpLeg).rejectedPackets, seen.length);
    assert.ok(frames.every((f) => rms(f) < 2000), 'nothing the intruder sent reached the call');

    h.asterisk.callerSays(channelId, tone(8000, 400));
    await until(() => frames.filter((f) => rms(f) > 2000).length >= 10, 'the caller heard after the intrusion', 15_000);
  } finally {
    intruder.close();
    await h.close();
  }
});

test.run();
