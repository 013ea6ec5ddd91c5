import { once } from 'node:events';
import http from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AudioSocketFrameParser,
  AudioSocketKind,
  ChanWebSocketLeg,
  encodeAudioSocketMessage,
  parseControlMessage,
  parseRtpHeader,
  RtpPacketizer,
  RtpReorderBuffer,
  parseStasisArgs,
  dispositionFor,
  hangupFromRequest,
} from '../../../src/pbx/asterisk/index.ts';
import { readFixtureText, loadCapture } from './peer/captures.ts';
import { sleep, tone } from './harness.ts';
import { until } from '../../support/wait.ts';

test('control messages: every plain-text and JSON message in the captures parses', () => {
  for (const file of ['external-media-websocket-ulaw.jsonl', 'external-media-websocket-json.jsonl', 'dtmf-external-media.jsonl', 'external-media-websocket-client.jsonl']) {
    for (const line of loadCapture(file)) {
      if (line.kind !== 'media.ws.text.in' || typeof line.text !== 'string') continue;
      const parsed = parseControlMessage(line.text);
      assert.ok(parsed.ok, `${file}: ${line.text}`);
    }
  }
  const start = parseControlMessage(
    'MEDIA_START connection_id:c8802550-e66f-44c2-b897-e44dcc91b126 channel:WebSocket/INCOMING/0x7f5034003930 channel_id:em-ws-ulaw format:ulaw optimal_frame_size:160 ptime:20',
  );
  assert.ok(start.ok);
  if (start.ok) {
    assert.is(start.message.fields.optimal_frame_size, '160');
    assert.is(start.message.fields.channel, 'WebSocket/INCOMING/0x7f5034003930');
  }
  const err = parseControlMessage('ERROR channel_id:em-ws-ulaw error_text:SET_MEDIA_DIRECTION only supports JSON format.\n');
  assert.ok(err.ok);
  if (err.ok) assert.is(err.message.fields.error_text, 'SET_MEDIA_DIRECTION only supports JSON format.');
  const mark = parseControlMessage('MEDIA_MARK_PROCESSED mark-A');
  assert.ok(mark.ok && mark.message.argument === 'mark-A');
  const json = parseControlMessage('{"event":"MEDIA_MARK_PROCESSED","channel_id":"em-ws-json","correlation_id":"json-mark-1"}');
  assert.ok(json.ok && json.message.argument === 'json-mark-1');
  for (const garbage of ['', 'hello world', '{not json', '{"noevent":1}', '\u0000\u0001']) {
    assert.not.ok(parseControlMessage(garbage).ok, JSON.stringify(garbage));
  }
});

test('AudioSocket parser: messages split anywhere reassemble; unknown kinds and absurd lengths are protocol errors', () => {
  const audio = Buffer.alloc(320, 7);
  const stream = Buffer.concat([
    encodeAudioSocketMessage(AudioSocketKind.Uuid, Buffer.from('0b5e6f2a1c3d4e5f8a9b0c1d2e3f4a5b', 'hex')),
    encodeAudioSocketMessage(AudioSocketKind.Slin8k, audio),
    encodeAudioSocketMessage(AudioSocketKind.Dtmf, Buffer.from('#')),
    encodeAudioSocketMessage(AudioSocketKind.Hangup, Buffer.alloc(0)),
  ]);
  for (const step of [1, 2, 3, 7, 100, stream.length]) {
    const parser = new AudioSocketFrameParser();
    const got: Array<[number, number]> = [];
    for (let at = 0; at < stream.length; at += step) {
      parser.push(stream.subarray(at, at + step), { message: (k, p) => got.push([k, p.length]), protocolError: (r) => assert.unreachable(r) });
    }
    assert.equal(got, [[0x01, 16], [0x10, 320], [0x03, 1], [0x00, 0]], `chunk size ${step}`);
    assert.is(parser.pendingBytes, 0);
  }
  const truncated = new AudioSocketFrameParser();
  let messages = 0;
  truncated.push(encodeAudioSocketMessage(AudioSocketKind.Slin8k, audio).subarray(0, 200), { message: () => messages++, protocolError: () => assert.unreachable() });
  assert.is(messages, 0);
  assert.is(truncated.pendingBytes, 200);
  const errors: string[] = [];
  new AudioSocketFrameParser().push(Buffer.from([0x42, 0, 1, 9]), { message: () => messages++, protocolError: (r) => errors.push(r) });
  new AudioSocketFrameParser().push(Buffer.from([0x10, 0xff, 0xff]), { message: () => messages++, protocolError: (r) => errors.push(r) });
  assert.equal(errors.length, 2);
  assert.match(errors[0], /unknown AudioSocket kind 0x42/);
  assert.match(errors[1], /65535 bytes/);
});

test('RTP: captured Asterisk packets parse (PT 0, 160-byte payload, no marker); packetizer counts seq and timestamp', () => {
  const line = loadCapture('external-media-rtp.jsonl').find((l) => l.kind === 'rtp.packet.in');
  assert.ok(line);
  const b64 = (line as Record<string, unknown>).base64 ?? (line as Record<string, unknown>).packet_base64 ?? (line as Record<string, unknown>).raw_base64;
  const packet = Buffer.from(String(b64), 'base64');
  const parsed = parseRtpHeader(packet);
  assert.ok(parsed.ok);
  if (parsed.ok) {
    assert.is(parsed.header.payloadType, 0);
    assert.is(parsed.header.payloadLength, 160);
    assert.is(parsed.header.marker, false);
  }
  const p = new RtpPacketizer(118, 0x1234, 65535, 0xfffffff0);
  const a = Buffer.alloc(12 + 640);
  const b = Buffer.alloc(12 + 640);
  p.writeHeader(a, 320);
  p.writeHeader(b, 320);
  const ha = parseRtpHeader(a);
  const hb = parseRtpHeader(b);
  assert.ok(ha.ok && hb.ok);
  if (ha.ok && hb.ok) {
    assert.is(ha.header.marker, true);
    assert.is(hb.header.marker, false);
    assert.is(hb.header.sequence, 0, 'sequence wraps');
    assert.is(hb.header.timestamp, (0xfffffff0 + 320) >>> 0);
    assert.is(hb.header.ssrc, 0x1234);
  }
  assert.not.ok(parseRtpHeader(Buffer.alloc(8)).ok);
  assert.not.ok(parseRtpHeader(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).ok);
});

test('RTP reorder buffer: reordering, duplicates, loss and the 16-bit wrap', () => {
  const rb = new RtpReorderBuffer(3, 1);
  const out: Array<number | null> = [];
  const push = (seq: number): void => rb.push(seq, Buffer.from([seq & 0xff]), (p) => out.push(p ? p[0] : null));
  for (const seq of [65533, 65535, 65534, 0, 0, 2, 2, 3, 4, 5, 1, 5, 65530]) push(seq);
  // 65534 arrives late but in time; 0 repeats after it was played and 2 while it is held (both duplicates);
  // 1 is given up once 5 is beyond the 3-packet window, so when it comes after all it is late, as is 65530;
  // 5 repeats right after it was played (a duplicate).
  assert.equal(out, [253, 254, 255, 0, null, 2, 3, 4, 5]);
  assert.is(rb.duplicates, 3);
  assert.is(rb.lost, 1);
  assert.is(rb.late, 2);
});

test('Stasis args, dispositions and hangup causes follow the captures', () => {
  assert.equal(parseStasisArgs(['flow=overdue-reminder', 'lang=zh', 'x=1', 'bare']), { flow: 'overdue-reminder', lang: 'zh', variables: { x: '1', arg1: 'bare' } });
  const p = { ringing: false, cancelled: false, dialstatus: '' };
  assert.is(dispositionFor(17, p), 'busy');
  assert.is(dispositionFor(19, { ...p, ringing: true }), 'no-answer');
  assert.is(dispositionFor(19, p), 'unreachable');
  assert.is(dispositionFor(18, p), 'unreachable');
  assert.is(dispositionFor(34, p), 'congestion');
  assert.is(dispositionFor(16, { ...p, cancelled: true }), 'cancelled');
  assert.is(dispositionFor(21, p), 'failed');
  // soft:true carries the AST_SOFTHANGUP bitmask, not Q.850.
  assert.equal(hangupFromRequest({ cause: 32, soft: true }, 17), { cause: 17, causeText: 'User busy', by: 'bot' });
  assert.is(hangupFromRequest({ cause: 4, soft: true }, undefined).by, 'pbx');
  assert.equal(hangupFromRequest({}, undefined), { cause: 16, causeText: 'Normal Clearing', by: 'caller' });
  assert.equal(hangupFromRequest({ cause: 17 }, undefined), { cause: 17, causeText: 'User busy', by: 'caller' });
  assert.ok(readFixtureText('README.md').includes('AST_SOFTHANGUP'));
});

/** A one-connection stand-in for chan_websocket driven by hand. */
async function manualAsterisk(): Promise<{ url: string; next(): Promise<WebSocket>; close(): Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, handleProtocols: () => 'media' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/media/x`,
    next: async () => (await once(wss, 'connection'))[0] as WebSocket,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function connectLeg(url: string, leg: ChanWebSocketLeg): Promise<void> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(url, 'media');
  await once(ws, 'open');
  leg.attach(ws);
}

test('chan_websocket leg: XOFF holds bot audio, XON releases it; garbage and unknown events only warn', async () => {
  const peer = await manualAsterisk();
  const leg = new ChanWebSocketLeg({ callId: 't', format: 'ulaw' });
  try {
    const serverSide = peer.next();
    await connectLeg(peer.url, leg);
    const ws = await serverSide;
    let binaries = 0;
    const texts: string[] = [];
    ws.on('message', (d, isBinary) => (isBinary ? binaries++ : texts.push(d.toString())));
    const warnings: string[] = [];
    leg.on('warning', (e) => warnings.push(e.message));
    ws.send('MEDIA_START connection_id:x channel:WebSocket/INCOMING/0x1 channel_id:em format:ulaw optimal_frame_size:160 ptime:20');
    await leg.waitForStart();
    ws.send('MEDIA_XOFF');
    await sleep(30);
    leg.play(tone(8000, 300));
    await sleep(200);
    assert.is(binaries, 0, 'nothing sent while XOFF');
    ws.send('MEDIA_XON');
    await until(() => binaries >= 10, 'backlog released', 1000);
    ws.send('garbage here');
    ws.send('SOMETHING_NEW foo:bar');
    ws.send('{"event":');
    ws.send(Buffer.alloc(100), { binary: true }); // not a whole frame: kept until the rest comes
    await until(() => warnings.length >= 3, 'warnings', 1000);
    assert.ok(warnings.some((w) => /unknown event SOMETHING_NEW/.test(w)));
    assert.ok(warnings.some((w) => /not a chan_websocket control message/.test(w)));
    assert.is(leg.closed, false);
    // Oversized marks are never sent (Asterisk ignores text over 128 bytes).
    leg.mark('m'.repeat(200));
    const reached = await new Promise<string>((resolve) => leg.once('mark', resolve));
    assert.is(reached.length, 200);
    assert.not.ok(texts.some((t) => t.startsWith('MARK_MEDIA m')));
  } finally {
    await leg.close({ code: 'bot_hangup' });
    await peer.close();
  }
});

test('chan_websocket leg: JSON control format (transport_data f(json)) for marks, flush and DTMF', async () => {
  const peer = await manualAsterisk();
  const leg = new ChanWebSocketLeg({ callId: 't', format: 'ulaw' });
  try {
    const serverSide = peer.next();
    await connectLeg(peer.url, leg);
    const ws = await serverSide;
    const texts: string[] = [];
    ws.on('message', (d, isBinary) => (isBinary ? undefined : texts.push(d.toString())));
    ws.send(JSON.stringify({ event: 'MEDIA_START', connection_id: 'x', channel: 'WebSocket/INCOMING/0x1', channel_id: 'em', format: 'ulaw', optimal_frame_size: 160, ptime: 20 }));
    await leg.waitForStart();
    leg.play(tone(8000, 60));
    leg.mark('json-mark-1');
    await until(() => texts.some((t) => t.includes('MARK_MEDIA')), 'MARK_MEDIA', 1000);
    assert.equal(JSON.parse(texts.find((t) => t.includes('MARK_MEDIA')) as string), { command: 'MARK_MEDIA', correlation_id: 'json-mark-1' });
    const marked = new Promise<string>((resolve) => leg.once('mark', resolve));
    ws.send(JSON.stringify({ event: 'MEDIA_MARK_PROCESSED', channel_id: 'em', correlation_id: 'json-mark-1' }));
    assert.is(await marked, 'json-mark-1');
    leg.play(tone(8000, 500));
    leg.flush();
    await until(() => texts.some((t) => t.includes('FLUSH_MEDIA')), 'FLUSH_MEDIA', 1000);
    assert.equal(JSON.parse(texts.find((t) => t.includes('FLUSH_MEDIA')) as string), { command: 'FLUSH_MEDIA' });
    const digit = new Promise<string>((resolve) => leg.once('dtmf', resolve));
    ws.send(JSON.stringify({ event: 'DTMF_END', channel_id: 'em', digit: '#' }));
    assert.is(await digit, '#');
    const warned = new Promise<Error>((resolve) => leg.once('warning', resolve));
    ws.send(JSON.stringify({ event: 'ERROR', channel_id: 'em', error_text: 'Unable to parse JSON command' }));
    assert.match((await warned).message, /Unable to parse JSON command/);
  } finally {
    await leg.close({ code: 'bot_hangup' });
    await peer.close();
  }
});

test('chan_websocket leg: Asterisk closing with 1009 (oversize) is a transport error close', async () => {
  const peer = await manualAsterisk();
  const leg = new ChanWebSocketLeg({ callId: 't', format: 'ulaw' });
  try {
    const serverSide = peer.next();
    await connectLeg(peer.url, leg);
    const ws = await serverSide;
    const closed = new Promise<{ code: string; detail?: string }>((resolve) => leg.once('close', resolve));
    ws.close(1009);
    const reason = await closed;
    assert.is(reason.code, 'transport_error');
    assert.match(reason.detail ?? '', /1009/);
  } finally {
    await peer.close();
  }
});

test.run();
