import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openPostgresStore, openSqliteStore, storeConfigSchema, StoreError, type NewQaHit, type Store } from '../../src/store/index.ts';
import { dropTestDatabases, freshDatabase, POSTGRES_URL } from './postgres-harness.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();
const scratch = mkdtempSync(join(tmpdir(), 'callpilot-qa-store-'));

function hit(overrides: Partial<NewQaHit> = {}): NewQaHit {
  return {
    callId: 'call-a',
    flow: 'collections',
    ruleSet: 'bank',
    ruleId: 'no-threats',
    ruleType: 'keyword',
    severity: 'critical',
    score: 20,
    leg: 'bot',
    text: '再不还款就起诉你',
    atMs: 12_340,
    endMs: 14_000,
    live: true,
    detail: { matched: '起诉' },
    at: '2026-12-01T08:00:00.000Z',
    ...overrides,
  };
}

/** The same semantics on every backend. */
function qaStoreContract(name: string, open: () => Promise<Store>): void {
  const test = suite(`qa store (${name})`);
  let store: Store;
  test.before.each(async () => {
    store = await open();
  });
  test.after.each(async () => store.close());

  test('hits come back as stored, oldest first, with cursor paging', async () => {
    await store.qa.addHits([hit(), hit({ ruleId: 'recording-disclosure', ruleType: 'absence', leg: undefined, text: '本次通话可能被录音', atMs: 0, endMs: undefined, live: false, severity: 'major', score: 10 })]);
    await store.qa.addHits([hit({ callId: 'call-b', at: '2026-12-02T09:00:00.000Z', leg: 'caller', text: '你们是骗子', ruleId: 'abuse', live: false })]);
    const all = await store.qa.listHits();
    assert.is(all.length, 3);
    const first = all[0]!;
    assert.equal({ ...first, id: 0 }, { ...hit(), id: 0 });
    assert.is(all[1]!.leg, undefined);
    assert.is(all[1]!.endMs, undefined);
    assert.is(all[1]!.live, false);
    assert.ok(all[0]!.id < all[1]!.id && all[1]!.id < all[2]!.id);
    const page1 = await store.qa.listHits({ limit: 2 });
    const page2 = await store.qa.listHits({ limit: 2, after: page1[1]!.id });
    assert.equal([...page1, ...page2].map((h) => h.id), all.map((h) => h.id));
    const newest1 = await store.qa.listHits({ limit: 2, order: 'newest' });
    const newest2 = await store.qa.listHits({ limit: 2, order: 'newest', before: newest1[1]!.id });
    assert.equal([...newest1, ...newest2].map((h) => h.id), all.map((h) => h.id).reverse());
  });

  test('filters by call, flow, rule, severity and period; summaries per rule, flow, severity, day and call', async () => {
    await store.qa.addHits([
      hit(),
      hit({ atMs: 20_000 }),
      hit({ callId: 'call-b', ruleId: 'abuse', severity: 'major', score: 5, at: '2026-12-02T09:00:00.000Z' }),
      hit({ callId: 'call-c', flow: 'orders', ruleId: 'abuse', severity: 'major', score: 5, at: '2026-12-03T09:00:00.000Z' }),
    ]);
    assert.is((await store.qa.listHits({ callId: 'call-a' })).length, 2);
    assert.is((await store.qa.listHits({ flow: 'orders' })).length, 1);
    assert.is((await store.qa.listHits({ ruleId: 'abuse', severity: 'major' })).length, 2);
    assert.equal((await store.qa.listHits({ from: '2026-12-02T00:00:00Z', to: '2026-12-03T00:00:00Z' })).map((h) => h.callId), ['call-b']);
    assert.equal(await store.qa.summary('rule'), [
      { key: 'abuse', hits: 2, calls: 2, score: 10 },
      { key: 'no-threats', hits: 2, calls: 1, score: 40 },
    ]);
    assert.equal((await store.qa.summary('flow')).map((r) => [r.key, r.hits]), [['collections', 3], ['orders', 1]]);
    assert.equal((await store.qa.summary('day', { flow: 'collections' })).map((r) => [r.key, r.hits]), [['2026-12-01', 2], ['2026-12-02', 1]]);
    assert.equal((await store.qa.summary('severity')).map((r) => [r.key, r.score]), [['critical', 40], ['major', 10]]);
    assert.equal((await store.qa.summary('call', { ruleId: 'abuse' })).map((r) => r.key), ['call-b', 'call-c']);
  });

  test('a malformed hit is refused with a StoreError and nothing of its batch is stored', async () => {
    try {
      await store.qa.addHits([hit(), hit({ severity: 'fatal' as never })]);
      assert.unreachable('stored a hit with an unknown severity');
    } catch (err) {
      assert.instance(err, StoreError);
      assert.match((err as Error).message, /severity/);
    }
    assert.is((await store.qa.listHits()).length, 0);
    try {
      await store.qa.listHits({ limit: 0 });
      assert.unreachable('limit 0 accepted');
    } catch (err) {
      assert.instance(err, StoreError);
    }
  });

  test.run();
}

qaStoreContract('sqlite', async () => openSqliteStore(':memory:', { log }));

if (!POSTGRES_URL) {
  console.log('qa-store.test.ts: PostgreSQL part skipped, TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL and sets it)');
} else {
  let n = 0;
  qaStoreContract('postgres', async () =>
    openPostgresStore(storeConfigSchema.parse({ url: await freshDatabase(), postgres: { journalPath: join(scratch, `journal-${++n}.jsonl`), connectTimeoutMs: 2000 } }), { log }),
  );
  const cleanup = suite('qa store cleanup');
  cleanup('drop test databases', async () => {
    await dropTestDatabases();
    rmSync(scratch, { recursive: true, force: true });
  });
  cleanup.run();
}
