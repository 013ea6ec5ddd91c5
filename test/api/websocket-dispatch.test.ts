import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { matchWebSocketRoute, type HttpServer } from '../../src/api/index.ts';
import type { WebSocketRoute } from '../../src/media/index.ts';
import type { Store } from '../../src/store/index.ts';
import { bearer } from '../support/auth.ts';
import { seededStore, startServer } from './fixtures.ts';

/** A route that tells the client who answered, and records the requests it got. */
function namedRoute(name: string, path: string, protocols?: string[]): WebSocketRoute & { requests: IncomingMessage[] } {
  const requests: IncomingMessage[] = [];
  return {
    path,
    protocols,
    roles: ['admin', 'pbx'],
    requests,
    handle(ws, req) {
      requests.push(req);
      ws.send(JSON.stringify({ route: name, url: req.url, protocol: ws.protocol }));
    },
  };
}

const callpilotMedia = namedRoute('callpilot', '/media');
const asteriskMedia = namedRoute('asterisk', '/media', ['media']);
const freeswitch = namedRoute('freeswitch', '/media/freeswitch');
const audioFork = namedRoute('audio_fork', '/media/fork', ['audio.drachtio.org']);
const broken: WebSocketRoute = {
  path: '/broken',
  roles: ['admin'],
  handle() {
    throw new Error('route bug');
  },
};
const routes = [callpilotMedia, asteriskMedia, freeswitch, audioFork, broken];

let store: Store;
let server: HttpServer;
let url: string;
let wsBase: string;
/** Admin token: this file tests dispatching; test/api/access.test.ts tests who may connect. */
let token: string;

test.before(async () => {
  store = await seededStore();
  ({ server, url, token } = await startServer({ store, webSocketRoutes: routes }));
  wsBase = url.replace('http://', 'ws://');
});

test.after(async () => {
  await server.close();
  await store.close();
});

function firstMessage(address: string, protocols?: string | string[]): Promise<{ route: string; url: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(address, protocols, { headers: bearer(token) });
    ws.once('message', (data) => {
      resolve(JSON.parse(data.toString()) as { route: string; url: string; protocol: string });
      ws.close();
    });
    ws.once('error', reject);
  });
}

function rejectedStatus(address: string, protocols?: string | string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(address, protocols);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error(`${address} unexpectedly opened`)));
    ws.once('error', () => undefined);
  });
}

/** Sends a raw request and collects bytes until the peer closes or `until` is seen. */
function rawExchange(request: string, until?: RegExp): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer; got ${JSON.stringify(received)}`));
    }, 5000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (until?.test(received)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

test('route matching: longest prefix on segment boundaries, then subprotocol', () => {
  const pick = (path: string, offered: string[]) => {
    const match = matchWebSocketRoute(routes, path, offered);
    return match.ok ? `${(match.route as { path: string }).path}|${match.route.protocols?.join() ?? ''}|${match.protocol ?? ''}` : match.status;
  };
  assert.is(pick('/media', []), '/media||');
  assert.is(pick('/media', ['callpilot-media']), '/media||callpilot-media');
  assert.is(pick('/media', ['media']), '/media|media|media');
  assert.is(pick('/media/freeswitch', []), '/media/freeswitch||');
  assert.is(pick('/media/freeswitch/abc', []), '/media/freeswitch||');
  // A prefix only matches whole segments.
  assert.is(pick('/mediafoo', []), 404);
  assert.is(pick('/other', []), 404);
  // Known path, but no route there speaks what the client asks for.
  assert.is(pick('/media/fork', []), 400);
  assert.is(pick('/media', ['audio.drachtio.org']), 400);
  assert.is(pick('/media/fork', ['audio.drachtio.org']), '/media/fork|audio.drachtio.org|audio.drachtio.org');
});

test('callpilot /media with and without its subprotocol', async () => {
  const plain = await firstMessage(`${wsBase}/media`);
  assert.is(plain.route, 'callpilot');
  assert.is(plain.protocol, '');
  const named = await firstMessage(`${wsBase}/media`, 'callpilot-media');
  assert.is(named.route, 'callpilot');
  assert.is(named.protocol, 'callpilot-media');
});

test('Asterisk chan_websocket client mode: /media?call_ref=... with subprotocol media', async () => {
  const message = await firstMessage(`${wsBase}/media?call_ref=abc`, 'media');
  assert.is(message.route, 'asterisk');
  assert.is(message.url, '/media?call_ref=abc');
  assert.is(message.protocol, 'media');
  assert.is(asteriskMedia.requests.at(-1)?.url, '/media?call_ref=abc');
});

test('mod_audio_stream upgrade with no space after header colons', async () => {
  const before = freeswitch.requests.length;
  const request =
    `GET /media/freeswitch HTTP/1.1\r\nHost:127.0.0.1:8080\r\nAuthorization:Bearer ${token}\r\nUpgrade:websocket\r\nConnection:upgrade\r\n` +
    'Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version:13\r\n\r\n';
  const answer = await rawExchange(request, /"route":"freeswitch"/);
  assert.match(answer, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  // RFC 6455's own example key has this well-known accept value.
  assert.match(answer, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
  assert.is(freeswitch.requests.length, before + 1);
  assert.is(freeswitch.requests.at(-1)?.headers.host, '127.0.0.1:8080');
});

test('unknown path: 404 and the socket is closed', async () => {
  assert.is(await rejectedStatus(`${wsBase}/nowhere`), 404);
  const answer = await rawExchange(
    'GET /nowhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  assert.match(answer, /^HTTP\/1\.1 404 Not Found/);
  assert.match(answer, /no WebSocket endpoint at \/nowhere/);
});

test('known path but unsupported subprotocol: 400', async () => {
  assert.is(await rejectedStatus(`${wsBase}/media`, 'audio.drachtio.org'), 400);
  assert.is(await rejectedStatus(`${wsBase}/media/fork`), 400);
});

test('a throwing route handler closes that socket with 1011, the server lives on', async () => {
  const code = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}/broken`, { headers: bearer(token) });
    ws.once('close', (closeCode) => resolve(closeCode));
    ws.once('error', reject);
  });
  assert.is(code, 1011);
  assert.is((await fetch(`${url}/healthz`)).status, 200);
});

test('close() drops open WebSocket connections', async () => {
  const extra = await startServer({ store, webSocketRoutes: [{ path: '/hold', roles: ['admin'], handle: () => undefined }] });
  const ws = new WebSocket(`${extra.url.replace('http://', 'ws://')}/hold`, { headers: bearer(extra.token) });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  await extra.server.close();
  assert.type(await closed, 'number');
  await extra.server.close(); // idempotent
});

test.run();
