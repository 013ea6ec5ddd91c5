import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer } from '../../src/api/index.ts';
import type { Store } from '../../src/store/index.ts';
import { authedFetch, issueToken } from '../support/auth.ts';
import { seededStore, startServer } from './fixtures.ts';

let server: HttpServer;
let url: string;
let store: Store;
let admin: ReturnType<typeof authedFetch>;
let operator: ReturnType<typeof authedFetch>;

test.before(async () => {
  store = await seededStore();
  let token: string;
  ({ server, url, token } = await startServer({ store }));
  admin = authedFetch(token);
  operator = authedFetch(await issueToken(store, 'operator'));
});

test.after(async () => {
  await server.close();
  await store.close();
});

type ListBody = { calls: { id: string; to?: string; from?: string }[]; masked: boolean; next?: string };

async function list(get: ReturnType<typeof authedFetch>, query: string): Promise<{ status: number; body: ListBody & { error?: string; field?: string } }> {
  const res = await get(`${url}/api/calls?${query}`);
  return { status: res.status, body: (await res.json()) as ListBody & { error?: string; field?: string } };
}

test('GET /api/calls pages with a cursor: every call once, newest first, no cursor on the last page', async () => {
  const ids: string[] = [];
  let query = 'limit=1';
  for (let pages = 0; pages < 10; pages++) {
    const { status, body } = await list(operator, query);
    assert.is(status, 200);
    ids.push(...body.calls.map((c) => c.id));
    if (!body.next) break;
    query = `limit=1&cursor=${encodeURIComponent(body.next)}`;
  }
  assert.equal(ids, ['call-3', 'call-2', 'call-1']);
});

test('GET /api/calls filters: date range, flow, disposition, direction, number by its visible suffix', async () => {
  const ids = async (q: string) => (await list(operator, q)).body.calls.map((c) => c.id);
  assert.equal(await ids('since=2025-05-01T08:30:00Z&until=2025-05-01T09:30:00Z'), ['call-2']);
  assert.equal(await ids('direction=inbound'), ['call-3']);
  assert.equal(await ids('disposition=promised_to_pay'), ['call-1']);
  assert.equal(await ids('flow=collections&status=ended'), ['call-2', 'call-1']);
  assert.equal(await ids('flow=survey'), []);
  const bySuffix = await list(operator, 'number=9000');
  assert.equal(bySuffix.body.calls.map((c) => c.id), ['call-2']);
  assert.is(bySuffix.body.calls[0]!.to, '139****9000', 'still masked');
});

test('GET /api/calls refuses what it cannot honour: bad cursors, bad dates, unknown filters, long suffixes without the grant', async () => {
  for (const [query, field] of [
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from('["x",1]').toString('base64url')}`, 'cursor'],
    ['since=yesterday', 'since'],
    ['number=12ab', 'number'],
    ['colour=blue', 'colour'],
  ] as const) {
    const { status, body } = await list(operator, query);
    assert.is(status, 400, query);
    assert.is(body.field, field, `${query}: ${JSON.stringify(body)}`);
  }
  const probing = await list(operator, 'number=0139000');
  assert.is(probing.status, 403);
  assert.is(probing.body.field, 'number');
  const allowed = await list(admin, 'number=39000');
  assert.is(allowed.status, 200);
  assert.equal(allowed.body.calls.map((c) => c.id), ['call-2']);
});

test.run();
