import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodeStatusView } from '../../src/api/index.ts';
import { bearer } from '../support/auth.ts';
import { seededStore, startServer } from './fixtures.ts';

test('GET /api/nodes lists the nodes sharing the store, with capacity, live calls and whether they are alive', async () => {
  const store = await seededStore();
  const nodes: NodeStatusView[] = [
    { id: 'node-a', address: 'http://10.0.0.1:8080', version: '0.1.0', capacity: 50, liveCalls: 12, draining: false, startedAt: '2025-05-01T08:00:00.000Z', heartbeatAt: '2025-05-01T09:00:00.000Z', alive: true },
    { id: 'node-b', address: 'http://10.0.0.2:8080', version: '0.1.0', capacity: 50, liveCalls: 0, draining: true, startedAt: '2025-05-01T08:00:00.000Z', heartbeatAt: '2025-05-01T08:10:00.000Z', alive: false },
  ];
  const { server, url, token } = await startServer({ store, nodes: async () => nodes });
  try {
    const res = await fetch(`${url}/api/nodes`, { headers: bearer(token) });
    assert.is(res.status, 200);
    assert.equal(await res.json(), { nodes });
  } finally {
    await server.close();
    await store.close();
  }
});

test.run();
