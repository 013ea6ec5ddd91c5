import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openPostgresStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { call, callStoreContract, silentLog as log, turn } from './call-store-contract.ts';
import { campaign } from './campaign-store-contract.ts';
import { dropTestDatabases, freshDatabase, OutageProxy, POSTGRES_URL } from './postgres-harness.ts';
import { until as waitUntil } from '../support/wait.ts';

const scratch = mkdtempSync(join(tmpdir(), 'callpilot-pg-store-'));
let journals = 0;

function configFor(url: string, journalPath = join(scratch, `journal-${++journals}.jsonl`)) {
  return storeConfigSchema.parse({ url, postgres: { journalPath, connectTimeoutMs: 1000 } });
}

async function open(url: string, opts: { journalPath?: string; nodeId?: string } = {}): Promise<Store> {
  return openPostgresStore(configFor(url, opts.journalPath), { log, nodeId: opts.nodeId ?? 'node-a' });
}

const until = (check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> => waitUntil(check, what, ms);

if (!POSTGRES_URL) {
  console.log('postgres-call-store.test.ts: skipped, TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL and sets it)');
} else {
  test.after(async () => {
    await dropTestDatabases();
    rmSync(scratch, { recursive: true, force: true });
  });

  callStoreContract(test, {
    name: 'postgres',
    fresh: async () => {
      const url = await freshDatabase();
      const journalPath = join(scratch, `journal-${++journals}.jsonl`);
      return { store: await open(url, { journalPath }), reopen: () => open(url, { journalPath }) };
    },
    fromTheFuture: async () => {
      const url = await freshDatabase();
      await (await open(url)).close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('INSERT INTO schema_migrations (version) VALUES (99)');
      await client.end();
      return () => open(url);
    },
  });

  test('postgres: nodes starting at once migrate the schema once, under the advisory lock', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map((n) => open(url, { nodeId: `node-${n}` })));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    await client.end();
    assert.equal(
      rows.map((r) => r.version),
      rows.map((_, i) => i + 1),
      'each version applied exactly once',
    );
    await stores[0]!.calls.createCall(call('shared'));
    assert.is((await stores[3]!.calls.getCall('shared'))?.id, 'shared', 'every node sees the same calls');
    for (const s of stores) await s.close();
  });

  test('postgres: a restarted node closes only its own interrupted calls', async () => {
    const url = await freshDatabase();
    const a = await open(url, { nodeId: 'node-a' });
    const b = await open(url, { nodeId: 'node-b' });
    await a.calls.createCall(call('on-a'));
    await b.calls.createCall(call('on-b'));
    const aRestarted = await open(url, { nodeId: 'node-a' });
    const recovered = await aRestarted.calls.recoverInterruptedCalls(new Date('2025-05-02T00:00:00.000Z'));
    assert.equal(recovered.map((c) => c.id), ['on-a']);
    assert.is((await b.calls.getCall('on-b'))?.status, 'active', "node-b's live call is untouched");
    for (const s of [a, b, aRestarted]) await s.close();
  });

  test('postgres: an outage does not stop a call; its rows are kept on disk and written in order when the database is back', async () => {
    const url = await freshDatabase();
    const target = new URL(url);
    const proxy = new OutageProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    const journalPath = join(scratch, 'outage.jsonl');
    const store = await open(proxy.through(url), { journalPath });
    await store.calls.createCall(call('through'));
    await store.calls.addTurn(turn('through', 0));

    proxy.cut();
    // The call goes on: every write is accepted and kept (on disk), none is lost or reordered.
    await store.calls.addTurn(turn('through', 1, { callerText: '明天还' }));
    await store.calls.addEvent({ callId: 'through', at: '2025-05-01T08:00:09.000Z', type: 'final', data: { text: '明天还' } });
    await store.calls.addEvent({ callId: 'through', at: '2025-05-01T08:00:10.000Z', type: 'bot', data: { text: '好的' } });
    await store.calls.updateCall('through', { status: 'ended', endedAt: '2025-05-01T08:00:30.000Z', disposition: 'promised_to_pay' });
    const health = store.health();
    assert.not.ok(health.ok, 'readyz reports the outage');
    assert.match(health.detail ?? '', /unreachable.*4 writes kept/);
    assert.ok(existsSync(journalPath), 'kept writes are on disk');
    assert.is(readFileSync(journalPath, 'utf8').trim().split('\n').length, 4);
    let readFailed = '';
    await store.calls.getCall('through').catch((err: Error) => (readFailed = err.message));
    // Never the row without its kept end, even were the database back before the backlog's next retry.
    assert.match(readFailed, /writes kept for the database/, 'reads fail instead of answering without the kept writes');

    proxy.restore();
    // Read at once, before the flush: the call's own kept writes go first (read-your-writes), so it reads as ended.
    assert.is((await store.calls.getCall('through'))?.disposition, 'promised_to_pay', 'a read right after the outage sees the kept end');
    await until(() => store.health().ok, 'the kept writes to be flushed');
    assert.not.ok(existsSync(journalPath), 'journal removed once flushed');
    const stored = await store.calls.getCall('through');
    assert.is(stored?.status, 'ended');
    assert.is(stored?.disposition, 'promised_to_pay');
    assert.equal((await store.calls.listTurns('through')).map((t) => t.callerText), ['你好', '明天还']);
    assert.equal((await store.calls.listEvents('through')).map((e) => e.type), ['final', 'bot']);
    await store.close();
    await proxy.close();
  });

  test('postgres: writes kept during an outage survive a crash and are replayed at the next start', async () => {
    const url = await freshDatabase();
    const target = new URL(url);
    const proxy = new OutageProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    const journalPath = join(scratch, 'crash.jsonl');
    const crashed = await open(proxy.through(url), { journalPath });
    await crashed.calls.createCall(call('kept'));
    proxy.cut();
    await crashed.calls.addTurn(turn('kept', 0, { callerText: '转人工' }));
    await crashed.calls.updateCall('kept', { disposition: 'transferred' });
    // The process dies here (never closed); the next start reaches the database directly.
    const restarted = await open(url, { journalPath });
    assert.ok(restarted.health().ok);
    assert.is((await restarted.calls.getCall('kept'))?.disposition, 'transferred');
    assert.equal((await restarted.calls.listTurns('kept')).map((t) => t.callerText), ['转人工']);
    assert.not.ok(existsSync(journalPath));
    await restarted.close();
    await proxy.close();
  });

  test('postgres: a connection lost mid-transaction fails that transaction, not the process, and is not reused', async () => {
    const url = await freshDatabase();
    const target = new URL(url);
    const proxy = new OutageProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    const store = await open(proxy.through(url));
    await store.campaigns.createCampaign(campaign('cut', { state: 'paused' }));
    // Cut between the row lock and the update: the client is checked out of the pool, inside its transaction.
    proxy.cutAt('UPDATE campaigns SET state');
    let failed: Error | undefined;
    await store.campaigns.setState('cut', ['paused'], 'running', new Date().toISOString()).catch((err: Error) => (failed = err));
    assert.ok(failed, 'the cut transaction fails');
    assert.match(failed.message, /connection|terminated/i);
    proxy.restore();
    assert.is((await store.campaigns.getCampaign('cut'))?.state, 'paused', 'nothing of the cut transaction committed');
    // The pool handed out a live connection, not the one that died in use.
    assert.ok(await store.campaigns.setState('cut', ['paused'], 'running', new Date().toISOString()), 'the same change goes through once the database is back');
    assert.is((await store.campaigns.getCampaign('cut'))?.state, 'running');
    await store.close();
    await proxy.close();
  });

  test('postgres: an unreachable database fails the start with a clear error that hides the password', async () => {
    let message = '';
    await open('postgres://callpilot:s3cret@127.0.0.1:1/nowhere').catch((err: Error) => (message = err.message));
    assert.match(message, /cannot connect to PostgreSQL at postgres:\/\/callpilot:\*\*\*@127\.0\.0\.1:1\/nowhere/);
    assert.not.match(message, /s3cret/);
  });
}

test.run();
