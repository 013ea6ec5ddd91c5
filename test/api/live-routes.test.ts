import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { HttpServer } from '../../src/api/index.ts';
import { LiveFeed, type LiveMessage } from '../../src/calls/index.ts';
import { newCallId } from '../../src/core/index.ts';
import type { ObservedCall } from '../../src/dialog/index.ts';
import type { Store } from '../../src/store/index.ts';
import { bearer, issueToken } from '../support/auth.ts';
import { seededStore, silentLog, startServer } from './fixtures.ts';
import { until as waitUntil } from '../support/wait.ts';

let server: HttpServer;
let url: string;
let store: Store;
let live: LiveFeed;
const tokens: Record<string, string> = {};

test.before(async () => {
  store = await seededStore();
  live = new LiveFeed({ log: silentLog });
  ({ server, url } = await startServer({ store, live }));
  tokens['operator'] = await issueToken(store, 'operator');
  tokens['auditor'] = await issueToken(store, 'auditor');
  tokens['supervisor'] = await issueToken(store, 'operator', { name: 'supervisor', grants: ['unmask'] });
  tokens['pbx'] = await issueToken(store, 'pbx');
});

test.after(async () => {
  await server.close();
  await store.close();
});

const wsUrl = (path: string) => `${url.replace(/^http/, 'ws')}${path}`;

/** Opens a live WebSocket and collects its messages; resolves once open (or with the refusal status). */
function openWs(path: string, headers: Record<string, string>): Promise<{ ws: WebSocket; messages: LiveMessage[]; closed: Promise<{ code: number; reason: string }> } | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl(path), { headers });
    const messages: LiveMessage[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as LiveMessage));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    ws.on('open', () => resolve({ ws, messages, closed }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on('error', () => undefined);
  });
}

const until = (check: () => boolean, what: string): Promise<void> => waitUntil(check, what, 10_000);

async function startCall(): Promise<string> {
  const callId = newCallId();
  await store.calls.createCall({ id: callId, pbx: 'asterisk', direction: 'outbound', to: '13800138000', flow: 'collections', lang: 'zh', status: 'active', startedAt: new Date().toISOString(), variables: {} });
  const observed: ObservedCall = { callId, flow: 'collections', lang: 'zh', direction: 'outbound', pbx: 'asterisk', to: '13800138000' };
  live.callStarted(observed);
  return callId;
}

test('WebSocket /api/live: snapshot, then live messages; numbers masked for an operator', async () => {
  const opened = await openWs('/api/live', bearer(tokens['operator']!));
  assert.ok('ws' in opened, `refused: ${JSON.stringify(opened)}`);
  const { ws, messages } = opened as Exclude<typeof opened, { status: number }>;
  await until(() => messages.length >= 1, 'snapshot');
  assert.is(messages[0]!.type, 'snapshot');
  const callId = await startCall();
  live.event(callId, { type: 'final', text: '我的号码是13800138000', speechStartMs: 0, speechEndMs: 900, atMs: 1200, earlyEndpoint: false });
  await until(() => messages.some((m) => m.type === 'final'), 'final');
  assert.equal(messages.map((m) => m.type), ['snapshot', 'call.started', 'final']);
  assert.match(JSON.stringify(messages), /138\*\*\*\*8000/);
  assert.not.match(JSON.stringify(messages), /13800138000/);
  ws.close();
  await live.callEnded(callId, { disposition: 'completed', endedBy: 'caller' });
});

test('unmasked live feed: only with the unmask grant, and audited', async () => {
  const refused = await openWs('/api/live?unmask=true', bearer(tokens['operator']!));
  assert.ok('ws' in refused);
  const r = refused as Exclude<typeof refused, { status: number }>;
  const closed = await r.closed;
  assert.is(closed.code, 1008);
  assert.match(JSON.stringify(r.messages), /unmask/);
  assert.is(r.messages[0]!.type as string, 'error');

  const opened = await openWs('/api/live?unmask=true', bearer(tokens['supervisor']!));
  const { ws, messages } = opened as Exclude<typeof opened, { status: number }>;
  await until(() => messages.length >= 1, 'snapshot');
  const callId = await startCall();
  await until(() => messages.some((m) => m.type === 'call.started'), 'call.started');
  assert.match(JSON.stringify(messages), /13800138000/);
  ws.close();
  await live.callEnded(callId, { disposition: 'completed', endedBy: 'caller' });
  const audit = await store.audit.list({ limit: 100 });
  assert.ok(audit.some((e) => e.action === 'live.unmasked' && e.actor === 'supervisor'), JSON.stringify(audit.map((e) => e.action)));
});

test('upgrades: foreign Origin 403, pbx role 403, no credentials 401, unknown call 404 before any upgrade of a bad path', async () => {
  const foreign = await openWs('/api/live', { ...bearer(tokens['operator']!), origin: 'https://evil.example' });
  assert.equal(foreign, { status: 403 });
  const pbx = await openWs('/api/live', bearer(tokens['pbx']!));
  assert.equal(pbx, { status: 403 });
  const anonymous = await openWs('/api/live', {});
  assert.equal(anonymous, { status: 401 });
  const otherPath = await openWs('/api/calls/call-1/transcript', bearer(tokens['operator']!));
  assert.equal(otherPath, { status: 404 });
  const sameOrigin = await openWs('/api/live', { ...bearer(tokens['auditor']!), origin: url });
  assert.ok('ws' in sameOrigin, 'an auditor on the console origin may follow calls');
  (sameOrigin as { ws: WebSocket }).ws.close();
});

test('WebSocket /api/calls/:id/live: the call so far, then live, closed normally after its end', async () => {
  const callId = await startCall();
  live.event(callId, { type: 'bot', text: '您好', atMs: 0, bargeIn: true });
  const opened = await openWs(`/api/calls/${callId}/live`, bearer(tokens['auditor']!));
  const { messages, closed } = opened as Exclude<typeof opened, { status: number }>;
  await until(() => messages.length >= 2, 'backlog');
  assert.equal(messages.map((m) => m.type), ['call.started', 'bot']);
  live.event(callId, { type: 'botAudioStart', atMs: 200, latencyMs: 250 });
  await live.callEnded(callId, { disposition: 'completed', endedBy: 'bot' });
  const end = await closed;
  assert.is(end.code, 1000);
  assert.equal(messages.map((m) => m.type), ['call.started', 'bot', 'bot.spoken', 'call.ended']);
  assert.is((messages[2] as LiveMessage & { latencyMs: number }).latencyMs, 250);

  // A call that ended (and is not running here): its end, then close. An unknown id: an error, then close.
  const ended = await openWs('/api/calls/call-1/live', bearer(tokens['operator']!));
  assert.ok('ws' in ended);
  const e = ended as Exclude<typeof ended, { status: number }>;
  await e.closed;
  assert.is(e.messages[0]!.type, 'call.ended');
  const unknown = await openWs(`/api/calls/${newCallId()}/live`, bearer(tokens['operator']!));
  const u = unknown as Exclude<typeof unknown, { status: number }>;
  assert.is((await u.closed).code, 1008);
  assert.match(JSON.stringify(u.messages), /"statusCode":404/);
});

/** Reads SSE events from a fetch response until `enough` says stop. */
async function readSse(res: Response, enough: (events: { event: string; id?: string; data: LiveMessage }[]) => boolean): Promise<{ event: string; id?: string; data: LiveMessage }[]> {
  const events: { event: string; id?: string; data: LiveMessage }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!enough(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      if (fields['data'] !== undefined) events.push({ event: fields['event'] ?? 'message', id: fields['id'], data: JSON.parse(fields['data']) as LiveMessage });
    }
  }
  await reader.cancel();
  return events;
}

test('SSE: the same feed as events named by type with id = seq; checks answer as plain JSON errors', async () => {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/live`, { headers: { ...bearer(tokens['operator']!), accept: 'text/event-stream' }, signal: controller.signal });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reading = readSse(res, (events) => events.some((e) => e.event === 'final'));
  await until(() => live.subscriberCount > 0, 'the SSE reader to subscribe');
  const callId = await startCall();
  live.event(callId, { type: 'final', text: '13800138000', speechStartMs: 0, speechEndMs: 900, atMs: 1200, earlyEndpoint: false });
  const events = await reading;
  controller.abort();
  assert.equal(events.map((e) => e.event), ['snapshot', 'call.started', 'final']);
  for (const e of events) assert.is(e.id, String(e.data.seq));
  assert.is((events[2]!.data as LiveMessage & { text: string }).text, '138****8000');
  await live.callEnded(callId, { disposition: 'completed', endedBy: 'caller' });
  await until(() => live.subscriberCount === 0, 'the closed SSE reader to be unsubscribed');

  const refused = await fetch(`${url}/api/live?unmask=true`, { headers: bearer(tokens['operator']!) });
  assert.is(refused.status, 403);
  assert.match(((await refused.json()) as { error: string }).error, /unmask/);
  const missing = await fetch(`${url}/api/calls/${newCallId()}/live`, { headers: bearer(tokens['operator']!) });
  assert.is(missing.status, 404);
  const foreign = await fetch(`${url}/api/live`, { headers: { ...bearer(tokens['operator']!), origin: 'https://evil.example' } });
  assert.is(foreign.status, 403);
  const badQuery = await fetch(`${url}/api/live?follow=everything`, { headers: bearer(tokens['operator']!) });
  assert.is(badQuery.status, 400);
});

test('the live endpoints are declared: roles on the HTTP routes and the WebSocket endpoints', () => {
  const routes = server.routes.filter((r) => r.url.endsWith('/live') && r.method !== 'HEAD');
  assert.equal(routes.map((r) => `${r.method} ${r.url}`).sort(), ['GET /api/calls/:id/live', 'GET /api/live']);
  for (const r of routes) {
    assert.equal(r.roles, ['admin', 'operator', 'auditor']);
    assert.ok(r.hasSchema);
  }
  assert.ok(server.webSocketEndpoints.some((e) => e.path === '/api/live'));
});

test.run();
