import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodePresence } from '../../src/cluster/index.ts';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { call, silentLog as log } from '../store/call-store-contract.ts';
import { dropTestDatabases, freshDatabase, POSTGRES_URL } from '../store/postgres-harness.ts';

/** A presence on `store` for node `id`, on a clock the test moves. */
function presence(store: Store, id: string, clock: { now: Date }, liveCalls = 0): NodePresence {
  return new NodePresence({
    nodes: store.nodes,
    calls: store.calls,
    self: () => ({ id, address: `http://${id}:8080`, version: 'test', capacity: 50, liveCalls, draining: false, startedAt: '2025-05-01T08:00:00.000Z' }),
    heartbeatMs: 1000,
    deadAfterMs: 20_000,
    log,
    now: () => clock.now,
  });
}

test('sqlite: the one node is listed alive with its capacity and live calls, and leaves the registry on stop', async () => {
  const store = openSqliteStore(':memory:', { log });
  const clock = { now: new Date('2025-05-01T08:00:00.000Z') };
  const self = presence(store, 'solo', clock, 3);
  await self.beat();
  const [node] = await self.list();
  assert.equal(
    { id: node?.id, capacity: node?.capacity, liveCalls: node?.liveCalls, alive: node?.alive },
    { id: 'solo', capacity: 50, liveCalls: 3, alive: true },
  );
  clock.now = new Date('2025-05-01T08:01:00.000Z');
  assert.is((await self.list())[0]?.alive, false, 'a stale heartbeat reads as dead');
  await self.stop();
  assert.equal(await store.nodes.list(), []);
  await store.close();
});

if (POSTGRES_URL) {
  test.after(() => dropTestDatabases());

  test('postgres: a node that stops beating is reaped once by a survivor, which closes its live calls', async () => {
    const url = await freshDatabase();
    const open = (nodeId: string): Promise<Store> => openPostgresStore(storeConfigSchema.parse({ url }), { log, nodeId });
    const [a, b, c] = await Promise.all([open('node-a'), open('node-b'), open('node-c')]);
    const clock = { now: new Date('2025-05-01T08:00:00.000Z') };
    const [pa, pb, pc] = [presence(a, 'node-a', clock), presence(b, 'node-b', clock), presence(c, 'node-c', clock)];
    await Promise.all([pa.beat(), pb.beat(), pc.beat()]);
    await a.calls.createCall(call('on-a'));
    await b.calls.createCall(call('on-b'));
    assert.equal((await pb.list()).map((n) => [n.id, n.alive]), [['node-a', true], ['node-b', true], ['node-c', true]]);

    // node-a dies (no more heartbeats); the others keep beating past its deadline, at the same moment.
    clock.now = new Date('2025-05-01T08:00:30.000Z');
    await Promise.all([pb.beat(), pc.beat()]);
    assert.equal((await pb.list()).map((n) => n.id), ['node-b', 'node-c'], 'the dead node left the registry');
    const onA = await b.calls.getCall('on-a');
    assert.is(onA?.status, 'ended');
    assert.is(onA?.disposition, 'interrupted');
    assert.is((await b.calls.listEvents('on-a')).filter((e) => e.type === 'interrupted').length, 1, 'closed once, by one survivor');
    assert.is((await b.calls.getCall('on-b'))?.status, 'active', "a survivor's own live call is untouched");
    for (const s of [a, b, c]) await s.close();
  });
}

test.run();
