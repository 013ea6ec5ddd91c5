import { request as httpRequest } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BODY_LIMITS, serverConfigSchema, type HttpServer } from '../../src/api/index.ts';
import { createAuth } from '../../src/auth/index.ts';
import { BUILTIN_PROFILES, CampaignService, ManualClock } from '../../src/campaign/index.ts';
import type { Store } from '../../src/store/index.ts';
import { seededStore, startServer } from './fixtures.ts';

/*
 * Issue 9, limits: every route that takes a body has a ceiling sized to what it needs; a body past it gets 413
 * before any handler runs and changes nothing. The route list comes from the server, so a route added later is
 * probed here too.
 */

const UPLOAD_LIMIT = 64 * 1024;
let store: Store;
let server: HttpServer;
let url: string;
let token: string;
let campaignId: string;

test.before(async () => {
  store = await seededStore();
  const campaigns = new CampaignService({
    store: store.campaigns,
    clock: new ManualClock(Date.parse('2026-12-02T02:00:00Z')),
    profiles: BUILTIN_PROFILES,
    callerIdPool: ['+861065529988'],
    defaultCountry: 'CN',
  });
  campaignId = (await campaigns.create({ name: 'limits', flow: 'demo', dialPattern: 'PJSIP/{national}@trunk', profile: 'cn-collection' })).id;
  ({ server, url, token } = await startServer({
    store,
    auth: createAuth(store),
    campaigns,
    config: serverConfigSchema.parse({ host: '127.0.0.1', port: 0, uploadLimitBytes: UPLOAD_LIMIT }),
    originate: async () => ({ callId: 'placed' }),
  }));
});

test.after(async () => {
  await server.close();
  await store.close();
});

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function concrete(pattern: string): string {
  return pattern
    .replace('/api/campaigns/:id/:action', `/api/campaigns/${campaignId}/pause`)
    .replace(/\/api\/campaigns\/:id/, `/api/campaigns/${campaignId}`)
    .replace(/:id\b/, pattern.startsWith('/api/tokens') ? 'tok_nope' : 'call-1')
    .replace(/:[A-Za-z]+/g, 'x');
}

/** Everything a request could have changed: calls, turns, tokens, audit rows, campaigns, contacts, DNC. */
async function snapshot(): Promise<string> {
  const calls = await store.calls.listCalls({ limit: 1000 });
  const turns = await Promise.all(calls.map((c) => store.calls.listTurns(c.id)));
  return JSON.stringify({
    calls,
    turns,
    tokens: (await store.tokens.listTokens()).map((t) => [t.id, t.revokedAt ?? null]),
    audit: (await store.audit.list({ limit: 1000 })).length,
    campaigns: await store.campaigns.listCampaigns(),
    contacts: await store.campaigns.listContacts(campaignId, { limit: 10_000 }),
    dnc: await store.campaigns.listDnc({ limit: 10_000 }),
  });
}

/** A syntactically valid body of exactly `bytes` bytes for the route (so only its size can be wrong). */
function bodyOf(route: string, bytes: number): { type: string; body: string } {
  if (route.endsWith('/contacts')) {
    const header = 'name,phone\n';
    const row = '张三,13800138000\n';
    let csv = header;
    while (Buffer.byteLength(csv) + Buffer.byteLength(row) <= bytes) csv += row;
    return { type: 'text/csv', body: csv + 'x'.repeat(bytes - Buffer.byteLength(csv)) };
  }
  const prefix = '{"pad":"';
  return { type: 'application/json', body: prefix + 'a'.repeat(bytes - prefix.length - 2) + '"}' };
}

test('every route that takes a body has a limit sized to it, contact imports the configured upload limit', () => {
  const bodyRoutes = server.routes.filter((r) => BODY_METHODS.has(r.method));
  assert.ok(bodyRoutes.length >= 8, `body routes seen: ${bodyRoutes.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  for (const route of server.routes) {
    assert.ok(Number.isInteger(route.bodyLimit) && route.bodyLimit > 0, `${route.method} ${route.url}`);
    if (route.url === '/api/campaigns/:id/contacts' && route.method === 'POST') assert.is(route.bodyLimit, UPLOAD_LIMIT);
    else assert.ok(route.bodyLimit <= BODY_LIMITS.dncList, `${route.method} ${route.url} accepts ${route.bodyLimit} bytes`);
  }
  const limitOf = (method: string, path: string) => server.routes.find((r) => r.method === method && r.url === path)?.bodyLimit;
  assert.is(limitOf('POST', '/api/session'), BODY_LIMITS.small);
  assert.is(limitOf('DELETE', '/api/tokens/:id'), BODY_LIMITS.none);
  assert.is(limitOf('POST', '/api/calls'), BODY_LIMITS.originate);
  assert.is(limitOf('GET', '/api/calls'), BODY_LIMITS.default);
});

test('a body one byte over the limit gets 413 naming the limit on every body route, and changes nothing', async () => {
  const before = await snapshot();
  const probed: string[] = [];
  for (const route of server.routes.filter((r) => BODY_METHODS.has(r.method))) {
    const path = concrete(route.url);
    const { type, body } = bodyOf(route.url, route.bodyLimit + 1);
    assert.is(Buffer.byteLength(body), route.bodyLimit + 1);
    const res = await fetch(url + path, { method: route.method, headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    const answer = (await res.json()) as { error: string; statusCode: number };
    assert.is(res.status, 413, `${route.method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
    assert.match(answer.error, new RegExp(`at most ${route.bodyLimit} bytes`));
    probed.push(`${route.method} ${route.url}`);
  }
  assert.ok(probed.includes('POST /api/campaigns/:id/contacts'), probed.join(', '));
  assert.ok(probed.includes('POST /api/dnc'), probed.join(', '));
  assert.is(await snapshot(), before, 'an oversize request changed the store');
});

test('a chunked body without Content-Length is cut off at the limit too (413, nothing imported)', async () => {
  const before = await snapshot();
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${url}/api/campaigns/${campaignId}/contacts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The server may close while we are still sending: that is the point, not a failure.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    req.write('name,phone\n');
    const row = Buffer.from('李四,13900139000\n'.repeat(256));
    let sent = 0;
    const pump = (): void => {
      while (sent < UPLOAD_LIMIT * 4) {
        sent += row.length;
        if (!req.write(row)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
  assert.is(status, 413);
  assert.is(await snapshot(), before);
  const alive = await fetch(`${url}/healthz`);
  assert.is(alive.status, 200);
});

test('bodies within the limits are served: a contact file just under the upload limit, a DNC list past the default', async () => {
  const { body } = bodyOf('/contacts', UPLOAD_LIMIT - 200);
  const csv = body.replace(/x+$/, '');
  const imported = await fetch(`${url}/api/campaigns/${campaignId}/contacts?file=near-limit.csv`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
    body: csv,
  });
  assert.is(imported.status, 201, await imported.clone().text());
  const numbers = Array.from({ length: 1500 }, (_, i) => `1380013${String(i).padStart(4, '0')}`);
  assert.ok(Buffer.byteLength(JSON.stringify({ numbers })) > BODY_LIMITS.default);
  const dnc = await fetch(`${url}/api/dnc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ numbers, reason: 'limits test' }),
  });
  assert.is(dnc.status, 201, await dnc.clone().text());
  assert.is((await store.campaigns.listDnc({ limit: 10_000 })).length, 1500);
});

test.run();
