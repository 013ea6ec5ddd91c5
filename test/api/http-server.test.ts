import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer, OriginateCallRequest } from '../../src/api/index.ts';
import { createMetrics } from '../../src/observability/index.ts';
import type { Store } from '../../src/store/index.ts';
import { authedFetch } from '../support/auth.ts';
import { seededStore, startServer } from './fixtures.ts';

const recordingsRoot = mkdtempSync(join(tmpdir(), 'callpilot-api-rec-'));
const callFolder = join(recordingsRoot, 'call-1');
mkdirSync(callFolder);
const wavBytes = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(60, 7)]);
writeFileSync(join(callFolder, 'mixed.wav'), wavBytes);
writeFileSync(join(recordingsRoot, 'secret.wav'), 'not yours');

let ready = true;
const originated: OriginateCallRequest[] = [];
let store: Store;
let server: HttpServer;
let url: string;
let noPbx: { server: HttpServer; url: string };
/** fetch as an admin: this file tests the routes themselves; test/api/access.test.ts tests who may call them. */
let api: (url: string, init?: RequestInit) => Promise<Response>;
const metrics = createMetrics();

test.before(async () => {
  store = await seededStore(callFolder);
  await store.calls.createCall({ id: 'escape', pbx: 'asterisk', direction: 'inbound', lang: 'zh', status: 'ended', startedAt: '2025-04-01T00:00:00Z', variables: {}, recordingDir: '..' });
  await store.calls.createCall({ id: 'escape-abs', pbx: 'asterisk', direction: 'inbound', lang: 'zh', status: 'ended', startedAt: '2025-04-01T00:00:00Z', variables: {}, recordingDir: '/etc' });
  let token: string;
  ({ server, url, token } = await startServer({
    store,
    metrics,
    recordingsDir: recordingsRoot,
    readiness: () => ({ ready, checks: { speech: { ok: true }, asterisk: { ok: ready, detail: ready ? undefined : 'ARI disconnected' } } }),
    originate: async (req) => {
      originated.push(req);
      return req.endpoint.includes('fail') ? { error: 'PBX asterisk is not connected' } : { callId: 'new-call' };
    },
  }));
  api = authedFetch(token);
  noPbx = await startServer({ store });
});

test.after(async () => {
  await server.close();
  await noPbx.server.close();
  await store.close();
  rmSync(recordingsRoot, { recursive: true, force: true });
});

const json = async (path: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> => {
  const response = await api(url + path, init);
  return { status: response.status, body: await response.json(), headers: response.headers };
};
const post = (base: string, body: string): Promise<Response> =>
  api(`${base}/api/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

test('healthz and readyz follow the readiness callback', async () => {
  assert.is((await json('/healthz')).status, 200);
  const up = await json('/readyz');
  assert.is(up.status, 200);
  assert.is(up.body.ready, true);
  ready = false;
  const down = await json('/readyz');
  assert.is(down.status, 503);
  assert.is(down.body.checks.asterisk.ok, false);
  assert.is(down.body.checks.asterisk.detail, 'ARI disconnected');
  ready = true;
});

test('metrics are the Prometheus text of the given registry', async () => {
  metrics.turnLatency.observe(0.2);
  const response = await api(`${url}/metrics`);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(await response.text(), /callpilot_turn_latency_seconds_count 1/);
});

test('list calls newest first, filtered and limited, with validation', async () => {
  const all = await json('/api/calls');
  assert.equal(all.body.calls.map((c: { id: string }) => c.id).slice(0, 3), ['call-3', 'call-2', 'call-1']);
  assert.equal((await json('/api/calls?status=active')).body.calls.map((c: { id: string }) => c.id), ['call-3']);
  assert.is((await json('/api/calls?limit=1')).body.calls.length, 1);
  const bad = await json('/api/calls?limit=0');
  assert.is(bad.status, 400);
  assert.is(bad.body.field, 'limit');
  assert.is((await json('/api/calls?status=ringing')).status, 400);
});

test('one call with turns and events; unknown call is a JSON 404', async () => {
  const { status, body } = await json('/api/calls/call-1');
  assert.is(status, 200);
  assert.is(body.call.disposition, 'promised_to_pay');
  assert.equal(body.turns.map((t: { seq: number }) => t.seq), [0, 1, 2]);
  assert.is(body.turns[1].latencyMs, 287);
  assert.is(body.turns[2].bargeIn, true);
  assert.is(body.events[0].type, 'bargeIn');
  const missing = await json('/api/calls/nope');
  assert.is(missing.status, 404);
  assert.match(missing.body.error, /no call nope/);
});

test('recordings: WAV served, ranges honoured, everything else a clear 404', async () => {
  const response = await api(`${url}/api/calls/call-1/recordings/mixed`);
  assert.is(response.status, 200);
  assert.is(response.headers.get('content-type'), 'audio/wav');
  assert.equal(Buffer.from(await response.arrayBuffer()), wavBytes);
  const ranged = await api(`${url}/api/calls/call-1/recordings/mixed.wav`, { headers: { range: 'bytes=0-3' } });
  assert.is(ranged.status, 206);
  assert.is(ranged.headers.get('content-range'), `bytes 0-3/${wavBytes.length}`);
  assert.is(Buffer.from(await ranged.arrayBuffer()).toString(), 'RIFF');

  const missingLeg = await json('/api/calls/call-1/recordings/caller');
  assert.is(missingLeg.status, 404);
  assert.match(missingLeg.body.error, /no caller recording/);
  const badLeg = await json('/api/calls/call-1/recordings/secret');
  assert.is(badLeg.status, 404);
  assert.match(badLeg.body.error, /unknown recording leg/);
  assert.match((await json('/api/calls/call-2/recordings/mixed')).body.error, /no recordings/);
  assert.is((await json('/api/calls/nope/recordings/mixed')).status, 404);
  for (const id of ['escape', 'escape-abs']) {
    const escaped = await json(`/api/calls/${id}/recordings/mixed`);
    assert.is(escaped.status, 404);
    assert.match(escaped.body.error, /outside the recordings folder/);
  }
  // Traversal through the URL never reaches the file system as a path.
  const traversal = await api(`${url}/api/calls/call-1/recordings/..%2F..%2Fsecret`);
  assert.is(traversal.status, 404);
  assert.not.match(await traversal.text(), /not yours/);
});

test('POST /api/calls validates, originates and reports PBX problems', async () => {
  const ok = await post(url, JSON.stringify({ endpoint: 'PJSIP/13800138000@trunk', flow: 'collections', lang: 'zh', variables: { name: '李四' } }));
  assert.is(ok.status, 202);
  assert.equal(await ok.json(), { callId: 'new-call' });
  assert.equal(originated.at(-1), { endpoint: 'PJSIP/13800138000@trunk', flow: 'collections', lang: 'zh', variables: { name: '李四' } });

  const cases: [string, string][] = [
    [JSON.stringify({}), 'endpoint'],
    [JSON.stringify({ endpoint: 'x', lang: 'fr' }), 'lang'],
    [JSON.stringify({ endpoint: 'x', timeoutSec: 'soon' }), 'timeoutSec'],
    [JSON.stringify({ endpoint: 'x', variables: { n: 1 } }), 'variables.n'],
    [JSON.stringify({ endpoint: 'x', flow: '../etc' }), 'flow'],
    [JSON.stringify({ endpoint: 'x', colour: 'red' }), 'colour'],
  ];
  const before = originated.length;
  for (const [body, field] of cases) {
    const response = await post(url, body);
    assert.is(response.status, 400, body);
    assert.is(((await response.json()) as { field: string }).field, field, body);
  }
  assert.is(originated.length, before, 'invalid requests never reach the PBX');

  const malformed = await post(url, '{"endpoint":');
  assert.is(malformed.status, 400);
  assert.type(((await malformed.json()) as { error: string }).error, 'string');

  const failed = await post(url, JSON.stringify({ endpoint: 'PJSIP/fail' }));
  assert.is(failed.status, 502);
  assert.match(((await failed.json()) as { error: string }).error, /not connected/);

  const unavailable = await post(noPbx.url, JSON.stringify({ endpoint: 'PJSIP/1' }));
  assert.is(unavailable.status, 503);
  assert.match(((await unavailable.json()) as { error: string }).error, /no PBX/);
});

test('unknown routes answer JSON 404', async () => {
  const missing = await json('/api/nothing-here');
  assert.is(missing.status, 404);
  assert.match(missing.body.error, /no route GET \/api\/nothing-here/);
});

test('console page and its assets are served; nothing else from disk', async () => {
  const page = await api(`${url}/`);
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /callpilot/);
  const script = await api(`${url}/console/console.js`);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.is((await api(`${url}/console/..%2Fhttp-server.ts`)).status, 404);
  assert.is((await api(`${url}/console/nope.js`)).status, 404);
});

test.run();
