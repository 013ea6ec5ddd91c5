import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import { isCallId } from '../../src/core/index.ts';
import * as assert from 'uvu/assert';
import { WebSocket, WebSocketServer } from 'ws';
import {
  createMediaWebSocketRoute,
  type LegCloseReason,
  type MediaStart,
  MediaWebSocketClient,
  type MediaWebSocketLeg,
} from '../../src/media/index.ts';
import { until } from '../support/e2e.ts';
import { sleep } from './fake-leg.ts';

interface Harness {
  url: string;
  server: Server;
  wss: WebSocketServer;
  nextLeg(): Promise<{ leg: MediaWebSocketLeg; start: MediaStart }>;
}

let harness: Harness;

test.before(async () => {
  const waiting: ((entry: { leg: MediaWebSocketLeg; start: MediaStart }) => void)[] = [];
  const ready: { leg: MediaWebSocketLeg; start: MediaStart }[] = [];
  const route = createMediaWebSocketRoute({
    onLeg: (leg, start) => {
      const resolve = waiting.shift();
      if (resolve) resolve({ leg, start });
      else ready.push({ leg, start });
    },
  });
  const server = createServer();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('callpilot-media') ? 'callpilot-media' : false),
  });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith(route.path)) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => route.handle(ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  harness = {
    url: `ws://127.0.0.1:${port}${route.path}`,
    server,
    wss,
    nextLeg: () => {
      const entry = ready.shift();
      return entry ? Promise.resolve(entry) : new Promise((resolve) => waiting.push(resolve));
    },
  };
});

test.after(async () => {
  for (const ws of harness.wss.clients) ws.terminate();
  await new Promise<void>((resolve) => harness.wss.close(() => resolve()));
  await new Promise<void>((resolve) => harness.server.close(() => resolve()));
});

function tone(rate: number, samples: number, hz = 440, amplitude = 8000): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)));
}

function waitFor<T>(emitter: { once(event: string, fn: (...args: never[]) => void): unknown }, event: string): Promise<T[]> {
  return new Promise((resolve) => emitter.once(event, ((...args: T[]) => resolve(args)) as never));
}

async function connect(start: Parameters<MediaWebSocketClient['connect']>[1]) {
  const client = new MediaWebSocketClient();
  const callId = await client.connect(harness.url, start);
  const { leg, start: accepted } = await harness.nextLeg();
  return { client, callId, leg, accepted };
}

test('pcmu 8 kHz: start, caller audio in, paced bot audio out', async () => {
  const { client, callId, leg, accepted } = await connect({
    codec: 'pcmu',
    sampleRate: 8000,
    callId: 'call-pcmu',
    lang: 'zh',
    variables: { campaign: 'c1' },
  });
  // The call id is callpilot's own (UUID v7); the client's becomes externalId.
  assert.ok(isCallId(callId), callId);
  assert.is(accepted.callId, callId);
  assert.is(accepted.externalId, 'call-pcmu');
  assert.equal(accepted.variables, { campaign: 'c1' });
  assert.is(leg.sampleRate, 8000);

  const caller = tone(8000, 160 * 5);
  const received: Int16Array[] = [];
  leg.on('frame', (pcm) => received.push(Int16Array.from(pcm)));
  await client.streamPcm(caller, { realtime: false });
  await until(() => received.length >= 5, '5 caller frames');
  await sleep(20);
  assert.is(received.length, 5);
  for (let i = 0; i < caller.length; i++) {
    const got = received[Math.floor(i / 160)][i % 160];
    if (Math.abs(got - caller[i]) > Math.max(16, Math.abs(caller[i]) / 16)) assert.unreachable(`caller sample ${i}`);
  }

  const bot: { first: number; at: number }[] = [];
  client.on('botFrame', (pcm, at) => bot.push({ first: pcm[80], at }));
  const botAudio = tone(8000, 160 * 10, 1000);
  leg.play(botAudio);
  // Waits for the frames instead of a fixed sleep: on a busy machine the pacer may run late, never early.
  await until(() => bot.length >= 10, '10 bot frames');
  await sleep(60);
  assert.is(bot.length, 10);
  const span = bot[9].at - bot[0].at;
  // Nine 20 ms slots: never faster than real time (a pacer that bursts fails this); a busy machine only slows it.
  assert.ok(span > 150, `10 frames arrived over ${span.toFixed(0)} ms`);
  assert.ok(Math.abs(bot[3].first - botAudio[3 * 160 + 80]) <= Math.max(16, Math.abs(botAudio[560]) / 16));
  await client.close();
});

test('l16 16 kHz: multi-frame messages split into 20 ms frames', async () => {
  const { client, leg } = await connect({ codec: 'l16', sampleRate: 16000 });
  assert.ok(leg.callId.length > 0, 'server assigned a call id');
  const frames: number[] = [];
  leg.on('frame', (pcm) => frames.push(pcm[0]));
  const pcm = Int16Array.from({ length: 320 * 3 }, (_, i) => (i % 320 === 0 ? i / 320 + 100 : 0));
  client.sendFrame(pcm);
  await until(() => frames.length >= 3, '3 frames');
  assert.equal(frames, [100, 101, 102]);
  await client.close();
});

test('dtmf, marks, notices and flush -> clear', async () => {
  const { client, leg } = await connect({ codec: 'pcmu', sampleRate: 8000 });
  const digits: string[] = [];
  leg.on('dtmf', (d) => digits.push(d));
  client.sendDtmf('5');
  client.sendDtmf('#');
  await until(() => digits.length >= 2, 'both digits');
  assert.equal(digits, ['5', '#']);

  const marks = waitFor<string>(client, 'mark');
  leg.play(tone(8000, 320));
  leg.mark('greeting-done');
  assert.equal(await marks, ['greeting-done']);

  const notice = waitFor<Record<string, unknown>>(client, 'notice');
  leg.sendNotice({ event: 'transcript', text: '你好', final: true });
  assert.equal(await notice, [{ event: 'transcript', text: '你好', final: true }]);

  let framesAfterClear = 0;
  let cleared = false;
  client.on('botFrame', () => {
    if (cleared) framesAfterClear++;
  });
  leg.play(tone(8000, 160 * 50));
  await sleep(60);
  const clear = waitFor(client, 'clear').then(() => (cleared = true));
  const dropped = leg.flush();
  assert.ok(dropped >= 800, `dropped ${dropped} ms`);
  await clear;
  await sleep(80);
  assert.is(framesAfterClear, 0);
  await client.close();
});

test('bad input gets an error message and the leg lives on', async () => {
  const { client, leg } = await connect({ codec: 'pcmu', sampleRate: 8000 });
  const warnings: string[] = [];
  const errors: string[] = [];
  leg.on('warning', (err) => warnings.push(err.message));
  client.on('serverError', (message) => errors.push(message));
  const raw = (client as unknown as { ws: WebSocket }).ws;
  raw.send('{not json');
  raw.send(JSON.stringify({ event: 'dance' }));
  raw.send(JSON.stringify({ event: 'dtmf', digit: '55' }));
  raw.send(Buffer.alloc(161));
  raw.send(Buffer.alloc(64160));
  await until(() => errors.length >= 5 && warnings.length >= 5, 'five errors');
  assert.is(errors.length, 5, errors.join(' | '));
  assert.is(warnings.length, 5);
  assert.match(errors[0], /not JSON/);
  assert.match(errors[1], /dance/);
  assert.match(errors[3], /161 B/);
  assert.match(errors[4], /exceeds/);
  assert.not.ok(leg.closed);
  const frames: number[] = [];
  leg.on('frame', (pcm) => frames.push(pcm.length));
  client.sendFrame(new Int16Array(160));
  await until(() => frames.length >= 1, 'the frame');
  assert.equal(frames, [160]);
  await client.close();
});

test('binary before start and an invalid start close with 1008', async () => {
  for (const first of [Buffer.alloc(160), JSON.stringify({ event: 'start', codec: 'pcmu', sampleRate: 16000 })]) {
    const ws = new WebSocket(harness.url);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    ws.send(first);
    const [code, reason] = await closed;
    assert.is(code, 1008);
    assert.match(reason, typeof first === 'string' ? /sampleRate/ : /before start/);
  }
});

test('caller hangup, disconnect and abrupt loss map to close reasons', async () => {
  const hungUp = await connect({ codec: 'pcmu', sampleRate: 8000 });
  const reason1 = waitFor<LegCloseReason>(hungUp.leg, 'close');
  const end = waitFor<string>(hungUp.client, 'end');
  const clientClosed = waitFor<number>(hungUp.client, 'close');
  hungUp.client.hangup();
  assert.is((await reason1)[0].code, 'caller_hangup');
  assert.is((await end)[0], 'caller_hangup');
  assert.is((await clientClosed)[0], 1000);

  const left = await connect({ codec: 'pcmu', sampleRate: 8000 });
  const reason2 = waitFor<LegCloseReason>(left.leg, 'close');
  left.leg.play(tone(8000, 160 * 20));
  await left.client.close();
  assert.is((await reason2)[0].code, 'caller_hangup');

  const lost = await connect({ codec: 'pcmu', sampleRate: 8000 });
  const reason3 = waitFor<LegCloseReason>(lost.leg, 'close');
  (lost.client as unknown as { ws: WebSocket }).ws.terminate();
  assert.is((await reason3)[0].code, 'transport_error');
});

test('the bot ends the call: end message, then close 1000', async () => {
  const { client, leg } = await connect({ codec: 'l16', sampleRate: 8000 });
  const end = waitFor<string>(client, 'end');
  const closed = waitFor<number>(client, 'close');
  const closes: string[] = [];
  leg.on('close', (reason) => closes.push(reason.code));
  await leg.close({ code: 'bot_hangup', detail: 'flow finished' });
  assert.equal(await end, ['bot_hangup', 'flow finished']);
  assert.is((await closed)[0], 1000);
  assert.equal(closes, ['bot_hangup']);
});

test.run();
