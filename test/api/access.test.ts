import { request as httpRequest } from 'node:http';
import Fastify from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { installAccessControl } from '../../src/api/access-control.ts';
import { serverConfigSchema, type HttpServer } from '../../src/api/index.ts';
import { createAuth, hashSecret, ROLES, type Auth, type Role } from '../../src/auth/index.ts';
import type { WebSocketRoute } from '../../src/media/index.ts';
import type { Store } from '../../src/store/index.ts';
import { bearer, issueToken } from '../support/auth.ts';
import { seededStore, silentLog, startServer } from './fixtures.ts';

/*
 * Issue 9: nothing is reachable without the right role. The route list comes from the server itself (every route
 * registered through fastify, every WebSocket endpoint), so a route added later is checked here without anyone
 * remembering to add it.
 */

/** Echoes who connected; one endpoint per kind of WebSocket callpilot serves. */
function echoRoute(path: string, roles: Role[], protocols?: string[]): WebSocketRoute {
  return { path, roles, protocols, handle: (ws) => ws.send(JSON.stringify({ path })) };
}
const wsRoutes: WebSocketRoute[] = [
  echoRoute('/media', ['admin', 'operator', 'pbx']),
  echoRoute('/media', ['pbx'], ['media']),
  echoRoute('/media/freeswitch', ['pbx']),
];

let store: Store;
let auth: Auth;
let server: HttpServer;
let url: string;
const tokens = {} as Record<Role, string>;

test.before(async () => {
  store = await seededStore();
  await store.calls.addTurn({ callId: 'call-2', seq: 0, callerText: '我的手机是一三八零零一三八零零零', inputKind: 'speech', botText: '好的，13800138000 已记录', bargeIn: false, at: '2025-05-01T09:00:05.000Z' });
  auth = createAuth(store);
  ({ server, url } = await startServer({ store, auth, webSocketRoutes: wsRoutes, originate: async () => ({ callId: 'placed' }) }));
  for (const role of ROLES) tokens[role] = await issueToken(store, role);
});

test.after(async () => {
  await server.close();
  await store.close();
});

/** A concrete URL for a route pattern, with ids that exist in the seeded store. */
function concrete(pattern: string): string {
  return pattern
    .replace(':leg', 'mixed')
    .replace(':file', 'console.js')
    .replace(/:id\b/, pattern.startsWith('/api/tokens') ? 'tok_nope' : 'call-1')
    .replace(/:[A-Za-z]+/g, 'x')
    .replace(/\*$/, 'x');
}

async function call(method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  const hasBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method);
  return fetch(url + path, {
    method,
    redirect: 'manual',
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...headers },
    body: hasBody ? '{}' : undefined,
  });
}

test('every route declares its access, and a route without a declaration cannot be registered', async () => {
  assert.ok(server.routes.length >= 10, `routes seen: ${server.routes.length}`);
  for (const route of server.routes) {
    assert.ok(route.roles === 'public' || (Array.isArray(route.roles) && route.roles.length > 0), `${route.method} ${route.url}`);
  }
  const publicRoutes = server.routes.filter((r) => r.roles === 'public' && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
  // Only health, the login page with its static assets, and the sign-in itself may be public.
  for (const route of publicRoutes) assert.ok(/^(GET \/healthz|GET \/readyz|GET \/login|GET \/console\/:file|POST \/api\/session)$/.test(route), `${route} is public`);

  const app = Fastify();
  await installAccessControl(app, { auth, tokens: store.tokens, config: serverConfigSchema.parse({}), log: silentLog });
  assert.throws(() => app.get('/forgotten', async () => 'open'), /declares no access/);
  assert.throws(() => app.get('/typo', { config: { roles: ['root' as Role] } }, async () => 'open'), /declares no access/);
  await app.close();
});

test('every non-public route refuses requests without credentials or with a bad token', async () => {
  for (const route of server.routes) {
    if (route.roles === 'public' || route.method === 'HEAD') continue;
    const path = concrete(route.url);
    const anonymous = await call(route.method, path);
    const expected = route.loginRedirect ? 302 : 401;
    assert.is(anonymous.status, expected, `${route.method} ${path} without credentials`);
    if (expected === 302) assert.match(anonymous.headers.get('location') ?? '', /^\/login\?next=/);
    const forged = await call(route.method, path, bearer('cpt_' + 'A'.repeat(43)));
    assert.is(forged.status, expected, `${route.method} ${path} with an unknown token`);
  }
});

test('per role: each route admits exactly the roles it declares', async () => {
  for (const route of server.routes) {
    if (route.roles === 'public' || route.method === 'HEAD') continue;
    for (const role of ROLES) {
      const response = await call(route.method, concrete(route.url), bearer(tokens[role]));
      const allowed = route.roles.includes(role);
      const label = `${role} ${route.method} ${route.url} -> ${response.status}`;
      if (allowed) assert.ok(response.status !== 401 && response.status !== 403, label);
      else assert.is(response.status, 403, label);
    }
  }
});

/** Status of a WebSocket upgrade (101 when it opened). */
function upgradeStatus(path: string, opts: { protocol?: string; headers?: Record<string, string> } = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.replace('http', 'ws') + path, opts.protocol, { headers: opts.headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
}

test('every WebSocket endpoint refuses upgrades without credentials, and admits only its roles', async () => {
  assert.equal(server.webSocketEndpoints.map((e) => e.path), wsRoutes.map((r) => r.path));
  for (const endpoint of server.webSocketEndpoints) {
    const protocol = endpoint.protocols?.[0];
    assert.is(await upgradeStatus(endpoint.path, { protocol }), 401, `${endpoint.path} ${protocol ?? ''} anonymous`);
    for (const role of ROLES) {
      const status = await upgradeStatus(endpoint.path, { protocol, headers: bearer(tokens[role]) });
      assert.is(status, endpoint.roles.includes(role) ? 101 : 403, `${role} on ${endpoint.path} ${protocol ?? ''}`);
    }
  }
  // A WebSocket route that names no roles stops the server from starting.
  const refused = await startServer({ store, webSocketRoutes: [{ path: '/open', handle: () => undefined }] }).then(
    () => 'started',
    (err: Error) => err.message,
  );
  assert.match(refused, /declares no roles/);
});

test('PBX media URLs: the per-call token opens only its own call, and not after it expires', async () => {
  const token = auth.mediaTokens.issue('9f1c7f5e-uuid-1');
  assert.is(await upgradeStatus(`/media/freeswitch/9f1c7f5e-uuid-1?callpilot_token=${token}`), 101);
  assert.is(await upgradeStatus(`/media/freeswitch/other-uuid?callpilot_token=${token}`), 401);
  assert.is(await upgradeStatus(`/media/freeswitch/9f1c7f5e-uuid-1?callpilot_token=${token.slice(0, -2)}xx`), 401);
  // chan_websocket client mode carries the key as a query value.
  const ast = auth.mediaTokens.issue('media-chan-7');
  assert.is(await upgradeStatus(`/media?callpilot_media=media-chan-7&callpilot_token=${ast}`, { protocol: 'media' }), 101);
  assert.is(await upgradeStatus(`/media?callpilot_media=media-chan-8&callpilot_token=${ast}`, { protocol: 'media' }), 401);
  // A media token is for PBX endpoints only: it does not open the operators' /media.
  assert.is(await upgradeStatus(`/media?callpilot_media=media-chan-7&callpilot_token=${ast}`), 401);
  const expired = auth.mediaTokens.issue('9f1c7f5e-uuid-1', -1);
  assert.is(await upgradeStatus(`/media/freeswitch/9f1c7f5e-uuid-1?callpilot_token=${expired}`), 401);
});

/** A raw request, so Host and Origin can be anything (fetch will not set Host). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('Host: names not in server.allowedHosts are refused (DNS rebinding); IP literals and localhost pass', async () => {
  const { port } = new URL(url);
  assert.is((await raw('GET', '/healthz', { host: `127.0.0.1:${port}` })).status, 200);
  assert.is((await raw('GET', '/healthz', { host: `localhost:${port}` })).status, 200);
  assert.is((await raw('GET', '/healthz', { host: `[::1]:${port}` })).status, 200);
  const rebound = await raw('GET', '/api/calls', { host: `attacker.example:${port}`, ...bearer(tokens.admin) });
  assert.is(rebound.status, 403);
  assert.match(rebound.body, /allowedHosts/);
  assert.is(await upgradeStatus('/media', { headers: { host: 'attacker.example', ...bearer(tokens.admin) } }), 403);

  const listed = await startServer({ store, config: serverConfigSchema.parse({ host: '127.0.0.1', port: 0, allowedHosts: ['callpilot.internal', '*.ops.example'] }) });
  try {
    const listedPort = new URL(listed.url).port;
    const get = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: listedPort, path: '/healthz', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.is(await get(`callpilot.internal:${listedPort}`), 200);
    assert.is(await get('a.ops.example'), 200);
    assert.is(await get('ops.example.attacker.example'), 403);
  } finally {
    await listed.server.close();
  }
});

test('Origin: cross-site WebSockets and state-changing requests are refused; same origin passes', async () => {
  const { port } = new URL(url);
  const admin = bearer(tokens.admin);
  assert.is(await upgradeStatus('/media', { headers: { ...admin, origin: 'https://evil.example' } }), 403);
  assert.is(await upgradeStatus('/media', { headers: { ...admin, origin: `http://127.0.0.1:${port}` } }), 101);
  const body = JSON.stringify({ endpoint: 'PJSIP/100@trunk' });
  const json = { 'content-type': 'application/json' };
  const crossSite = await raw('POST', '/api/calls', { ...json, ...admin, origin: 'https://evil.example', host: `127.0.0.1:${port}` }, body);
  assert.is(crossSite.status, 403);
  assert.match(crossSite.body, /cross-origin/);
  assert.is((await raw('POST', '/api/calls', { ...json, ...admin, origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` }, body)).status, 202);
  // A bearer client (curl, a CRM) sends no Origin: fine, a browser cannot forge its Authorization header.
  assert.is((await raw('POST', '/api/calls', { ...json, ...admin, host: `127.0.0.1:${port}` }, body)).status, 202);
  // Origins listed in server.allowedOrigins pass.
  const listed = await startServer({ store, config: serverConfigSchema.parse({ host: '127.0.0.1', port: 0, allowedOrigins: ['https://ops.example.com'] }), webSocketRoutes: wsRoutes });
  try {
    const ws = new WebSocket(`${listed.url.replace('http', 'ws')}/media`, { headers: { ...admin, origin: 'https://ops.example.com' } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_q, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    ws.close();
  } finally {
    await listed.server.close();
  }
});

/** Signs in with a token like the login page does; returns the session cookie. */
async function signIn(token: string): Promise<string> {
  const { port } = new URL(url);
  const response = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
    body: JSON.stringify({ token }),
  });
  assert.is(response.status, 200);
  const setCookie = response.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /callpilot_session=/);
  assert.match(setCookie, /HttpOnly/i);
  assert.match(setCookie, /SameSite=Strict/i);
  return setCookie.split(';')[0] as string;
}

test('console sessions: cookie login, CSRF rules for cookie writes, logout, and revocation ends the session', async () => {
  const { port } = new URL(url);
  const operatorToken = await issueToken(store, 'operator', { name: 'session-test' });
  const cookie = await signIn(operatorToken);
  const me = await fetch(`${url}/api/session`, { headers: { cookie } });
  assert.equal(await me.json(), { name: 'session-test', role: 'operator', grants: [], unmask: false });
  assert.is((await fetch(`${url}/api/calls`, { headers: { cookie } })).status, 200);
  assert.is((await fetch(`${url}/`, { headers: { cookie }, redirect: 'manual' })).status, 200);

  const body = JSON.stringify({ endpoint: 'PJSIP/100@trunk' });
  const json = { 'content-type': 'application/json', host: `127.0.0.1:${port}`, cookie };
  // A cookie alone never authorizes a write: the browser's Origin must be there and be ours.
  const noOrigin = await raw('POST', '/api/calls', json, body);
  assert.is(noOrigin.status, 403);
  assert.match(noOrigin.body, /Origin/);
  assert.is((await raw('POST', '/api/calls', { ...json, origin: 'http://evil.example' }, body)).status, 403);
  assert.is((await raw('POST', '/api/calls', { ...json, origin: `http://127.0.0.1:${port}` }, body)).status, 202);

  // Bad tokens and pbx tokens do not sign in.
  assert.is((await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'cpt_nope' }) })).status, 401);
  assert.is((await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: tokens.pbx }) })).status, 403);

  // Logout ends this session only.
  const other = await signIn(operatorToken);
  assert.is((await raw('DELETE', '/api/session', { host: `127.0.0.1:${port}`, cookie, origin: `http://127.0.0.1:${port}` })).status, 204);
  assert.is((await fetch(`${url}/api/calls`, { headers: { cookie } })).status, 401);
  assert.is((await fetch(`${url}/api/calls`, { headers: { cookie: other } })).status, 200);
  // Revoking the token ends every session made with it.
  const info = (await auth.tokens.list()).find((t) => t.name === 'session-test');
  assert.ok(info);
  assert.is((await fetch(`${url}/api/tokens/${info!.id}`, { method: 'DELETE', headers: bearer(tokens.admin) })).status, 204);
  assert.is((await fetch(`${url}/api/calls`, { headers: { cookie: other } })).status, 401);
});

test('sessions survive a restart of the server (they live in the store)', async () => {
  const cookie = await signIn(tokens.auditor);
  const again = await startServer({ store });
  try {
    assert.is((await fetch(`${again.url}/api/calls`, { headers: { cookie } })).status, 200);
  } finally {
    await again.server.close();
  }
});

test('token lifecycle over the API: create (shown once, stored hashed), use, list, revoke; expired tokens fail', async () => {
  const admin = bearer(tokens.admin);
  const created = await fetch(`${url}/api/tokens`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'crm', role: 'operator', expires: '30d' }),
  });
  assert.is(created.status, 201);
  const { token, info } = (await created.json()) as { token: string; info: { id: string; state: string; expiresAt: string } };
  assert.match(token, /^cpt_[A-Za-z0-9_-]{43}$/);
  assert.is(info.state, 'active');
  assert.ok(Date.parse(info.expiresAt) > Date.now() + 29 * 86_400_000);
  const stored = await store.tokens.getToken(info.id);
  assert.is(stored?.secretHash, hashSecret(token));
  assert.not.ok(JSON.stringify(stored).includes(token), 'the secret itself is not stored');

  assert.is((await fetch(`${url}/api/calls`, { headers: bearer(token) })).status, 200);
  const listed = (await (await fetch(`${url}/api/tokens`, { headers: admin })).json()) as { tokens: Record<string, unknown>[] };
  const row = listed.tokens.find((t) => t.id === info.id);
  assert.ok(row?.lastUsedAt, 'use is recorded');
  assert.not.ok(listed.tokens.some((t) => 'secretHash' in t), 'hashes are not listed');

  assert.is((await fetch(`${url}/api/tokens`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'root' }) })).status, 400);
  assert.is((await fetch(`${url}/api/tokens/${info.id}`, { method: 'DELETE', headers: admin })).status, 204);
  assert.is((await fetch(`${url}/api/tokens/${info.id}`, { method: 'DELETE', headers: admin })).status, 409);
  assert.is((await fetch(`${url}/api/calls`, { headers: bearer(token) })).status, 401);

  // Expiry: a token whose time is up is refused (written with a past expiry, as if time had passed).
  const secret = 'cpt_' + 'e'.repeat(43);
  await store.tokens.createToken({ id: 'tok_expired', name: 'old', role: 'admin', grants: [], secretHash: hashSecret(secret), createdAt: '2025-01-01T00:00:00.000Z', expiresAt: '2025-02-01T00:00:00.000Z' });
  assert.is((await fetch(`${url}/api/calls`, { headers: bearer(secret) })).status, 401);
  // And with an injected clock: valid until its expiry, refused after.
  let now = new Date('2026-01-01T00:00:00Z');
  const clocked = createAuth(store, { now: () => now });
  const short = await clocked.tokens.create({ role: 'auditor', expiresAt: new Date('2026-01-01T01:00:00Z') });
  assert.ok(await clocked.tokens.authenticate(short.token));
  now = new Date('2026-01-01T01:00:01Z');
  assert.is(await clocked.tokens.authenticate(short.token), undefined);

  const actions = (await store.audit.list({ limit: 1000 })).map((e) => `${e.action}:${e.actor}`);
  assert.ok(actions.includes('token.create:test-admin'), actions.join(' '));
  assert.ok(actions.includes('token.revoke:test-admin'), actions.join(' '));
});

test('masking per role: numbers masked by default; full ones only for unmask rights, and every such read audited', async () => {
  const list = async (token: string, query = ''): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${url}/api/calls${query}`, { headers: bearer(token) });
    return { status: response.status, body: await response.json() };
  };
  for (const role of ['admin', 'operator', 'auditor'] as const) {
    const { body } = await list(tokens[role]);
    const call1 = body.calls.find((c: { id: string }) => c.id === 'call-1');
    assert.is(call1.to, '138****8000', `${role} sees a masked number`);
    assert.not.match(JSON.stringify(body), /13800138000|13900139000/);
  }
  assert.is((await list(tokens.operator, '?unmask=true')).status, 403);
  assert.is((await list(tokens.auditor, '?unmask=true')).status, 403);

  const detail = (await (await fetch(`${url}/api/calls/call-2`, { headers: bearer(tokens.operator) })).json()) as any;
  assert.is(detail.masked, true);
  assert.not.match(detail.turns[0].callerText, /一三八零零一三八零零零/);
  assert.match(detail.turns[0].callerText, /我的手机是/);
  assert.not.match(detail.turns[0].botText, /13800138000/);

  const before = (await store.audit.list({ limit: 1000 })).length;
  const auditorUnmask = await issueToken(store, 'auditor', { name: 'auditor-unmask', grants: ['unmask'] });
  const full = await list(auditorUnmask, '?unmask=true');
  assert.is(full.status, 200);
  assert.is(full.body.calls.find((c: { id: string }) => c.id === 'call-1').to, '13800138000');
  const fullDetail = (await (await fetch(`${url}/api/calls/call-2?unmask=true`, { headers: bearer(tokens.admin) })).json()) as any;
  assert.match(fullDetail.turns[0].botText, /13800138000/);
  const added = (await store.audit.list({ after: before, limit: 100 })).map((e) => `${e.action}:${e.actor}:${e.target ?? ''}`);
  assert.ok(added.includes('calls.unmasked:auditor-unmask:'), added.join(' '));
  assert.ok(added.includes('call.unmasked:test-admin:call-2'), added.join(' '));
});

test('reads of transcripts and recordings are audited with who read them', async () => {
  const before = (await store.audit.list({ limit: 1000 })).length;
  await fetch(`${url}/api/calls/call-1`, { headers: bearer(tokens.auditor) });
  await fetch(`${url}/api/calls/call-1/recordings/mixed`, { headers: bearer(tokens.operator) });
  const rows = await store.audit.list({ after: before, limit: 100 });
  assert.ok(rows.some((r) => r.action === 'transcript.read' && r.actor === 'test-auditor' && r.role === 'auditor' && r.target === 'call-1'));
  // No recording exists for the fixture call here (404), so nothing was read and nothing is audited.
  assert.not.ok(rows.some((r) => r.action === 'recording.download'));
  const page = await fetch(`${url}/api/audit?after=0&limit=2`, { headers: bearer(tokens.auditor) });
  const body = (await page.json()) as { entries: { seq: number }[]; next: string };
  assert.equal(body.entries.map((e) => e.seq), [1, 2]);
  assert.is(body.next, 'after=2');
  const verify = (await (await fetch(`${url}/api/audit/verify`, { headers: bearer(tokens.admin) })).json()) as { ok: boolean };
  assert.is(verify.ok, true);
});

test.run();
