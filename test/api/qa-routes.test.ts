import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer } from '../../src/api/index.ts';
import type { NewQaHit, Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { seededStore, startServer } from './fixtures.ts';

let server: HttpServer;
let url: string;
let token: string;
let store: Store;

const hit = (o: Partial<NewQaHit>): NewQaHit => ({
  callId: 'call-1',
  flow: 'collections',
  ruleSet: 'bank',
  ruleId: 'bot-threats',
  ruleType: 'keyword',
  severity: 'critical',
  score: 30,
  leg: 'bot',
  text: '再不还就起诉你',
  atMs: 9000,
  endMs: 11_000,
  live: true,
  detail: { matched: '起诉你' },
  at: '2025-05-01T08:00:09.000Z',
  ...o,
});

test.before(async () => {
  store = await seededStore();
  await store.qa.addHits([
    hit({}),
    hit({ ruleId: 'recording-notice', ruleType: 'absence', severity: 'major', score: 10, leg: undefined, text: 'missing: 本次通话可能被录音', atMs: 0, endMs: 30_000, live: false, at: '2025-05-01T08:01:10.000Z' }),
    hit({ callId: 'call-2', ruleId: 'caller-abuse', ruleType: 'pinyin', severity: 'minor', score: 0, leg: 'caller', text: '=HYPERLINK("x") 骗子, 13800138000', at: '2025-05-02T09:00:00.000Z' }),
  ]);
  ({ server, url, token } = await startServer({ store }));
});
test.after(async () => server.close());

async function get(path: string, bearerToken = token): Promise<{ status: number; body: any; text: string; type: string }> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${bearerToken}` } });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, type: response.headers.get('content-type') ?? '' };
}

test('hits per call in recording order with the call score', async () => {
  const { status, body } = await get('/api/calls/call-1/qa');
  assert.is(status, 200);
  assert.is(body.score, 40);
  assert.equal(body.hits.map((h: { ruleId: string }) => h.ruleId), ['recording-notice', 'bot-threats']);
  assert.is(body.hits[1].atMs, 9000);
  assert.is(body.hits[1].leg, 'bot');
});

test('hit list filters by flow, rule, severity and period, pages with a cursor, validates its query', async () => {
  assert.is((await get('/api/qa/hits?flow=collections')).body.hits.length, 3);
  assert.is((await get('/api/qa/hits?rule=caller-abuse')).body.hits.length, 1);
  assert.is((await get('/api/qa/hits?severity=major')).body.hits.length, 1);
  assert.equal((await get('/api/qa/hits?from=2025-05-02&to=2025-05-03')).body.hits.map((h: { callId: string }) => h.callId), ['call-2']);
  const first = (await get('/api/qa/hits?limit=2')).body;
  assert.is(first.hits.length, 2);
  assert.ok(first.next !== null);
  const second = (await get(`/api/qa/hits?limit=2&after=${first.next}`)).body;
  assert.is(second.hits.length, 1);
  assert.is(second.next, null);
  const oldestFirst = first.hits.concat(second.hits).map((h: { id: number }) => h.id);
  const newest = (await get('/api/qa/hits?limit=2&order=newest')).body;
  const older = (await get(`/api/qa/hits?limit=2&order=newest&before=${newest.next}`)).body;
  assert.equal([...newest.hits, ...older.hits].map((h: { id: number }) => h.id), [...oldestFirst].reverse());
  assert.is(older.next, null);
  assert.is((await get('/api/qa/hits?order=latest')).status, 400);
  const bad = await get('/api/qa/hits?severity=fatal');
  assert.is(bad.status, 400);
  assert.is(bad.body.field, 'severity');
  assert.is((await get('/api/qa/hits?from=yesterday')).status, 400);
  assert.is((await get('/api/qa/hits?bogus=1')).body.field, 'bogus');
});

test('summary per rule, flow, severity, day and call', async () => {
  const byRule = (await get('/api/qa/summary?by=rule')).body;
  assert.is(byRule.by, 'rule');
  assert.equal(byRule.rows.map((r: { key: string; hits: number; score: number }) => [r.key, r.hits, r.score]), [
    ['bot-threats', 1, 30],
    ['caller-abuse', 1, 0],
    ['recording-notice', 1, 10],
  ]);
  assert.equal((await get('/api/qa/summary?by=day')).body.rows.map((r: { key: string; hits: number }) => [r.key, r.hits]), [['2025-05-01', 2], ['2025-05-02', 1]]);
  assert.equal((await get('/api/qa/summary?by=call&severity=critical')).body.rows.map((r: { key: string }) => r.key), ['call-1']);
  assert.is((await get('/api/qa/summary?by=agent')).status, 400);
});

test('CSV export: BOM, header, one row per hit, formulas neutralized', async () => {
  const response = await fetch(`${url}/api/qa/hits.csv?flow=collections`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/csv/);
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.equal([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM so Excel reads the Chinese text right');
  const text = bytes.subarray(3).toString('utf8');
  assert.ok(text.startsWith('id,at,callId,flow,ruleSet,ruleId'));
  const lines = text.trim().split('\n');
  assert.is(lines.length, 4);
  assert.match(lines[3]!, /"'=HYPERLINK\(""x""\) 骗子, 13800138000"$/);
});

test('QA reports need a reading role: pbx tokens and anonymous requests are refused', async () => {
  const pbx = await issueToken(store, 'pbx');
  for (const path of ['/api/qa/hits', '/api/qa/summary', '/api/qa/hits.csv', '/api/calls/call-1/qa']) {
    assert.is((await get(path, pbx)).status, 403, path);
    assert.is((await fetch(`${url}${path}`)).status, 401, path);
  }
  const auditor = await issueToken(store, 'auditor');
  assert.is((await get('/api/qa/hits', auditor)).status, 200);
});

test.run();
