import pg from 'pg';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { campaign, campaignStoreContract } from './campaign-store-contract.ts';
import { silentLog as log } from './call-store-contract.ts';
import { dropTestDatabases, freshDatabase, POSTGRES_URL } from './postgres-harness.ts';

campaignStoreContract(test, { name: 'sqlite', fresh: async () => openSqliteStore(':memory:', { log }) });

if (POSTGRES_URL) {
  const open = (url: string, nodeId: string): Promise<Store> => openPostgresStore(storeConfigSchema.parse({ url }), { log, nodeId });
  campaignStoreContract(test, {
    name: 'postgres',
    fresh: async () => open(await freshDatabase(), 'node-a'),
    nodes: async (n) => {
      const url = await freshDatabase();
      const first = await open(url, 'node-0');
      const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => open(url, `node-${i + 1}`)));
      return [first, ...rest];
    },
  });

  test('postgres: a finish on one node while an import is in flight on another leaves the campaign running, so the imported contacts are dialled', async () => {
    const url = await freshDatabase();
    const [importer, finisher] = [await open(url, 'node-a'), await open(url, 'node-b')];
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      const NOW = '2026-03-02T02:00:00.000Z';
      // A running campaign that has dialled everything: the dialer would finish it now.
      await importer.campaigns.createCampaign(campaign('race'));
      const contacts = Array.from({ length: 40_000 }, (_, i) => ({ number: `+86139${String(i).padStart(8, '0')}`, variables: {} }));
      const importing = importer.campaigns.addContacts('race', contacts, NOW);
      // The import is in flight (its transaction holds the campaign's import lock) when the other node finishes.
      let inFlight = false;
      for (let i = 0; i < 2000 && !inFlight; i++) {
        const { rows } = await watcher.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted`);
        inFlight = rows.length > 0;
        if (!inFlight) await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok(inFlight, 'the import holds the lock while it runs');
      const finished = await finisher.campaigns.finishIfDrained('race', NOW);
      assert.is((await importing).inserted, 40_000);
      assert.is(finished, false, 'no finish while the import is in flight');
      assert.is((await finisher.campaigns.getCampaign('race'))?.state, 'running');
    } finally {
      await watcher.end();
      await importer.close();
      await finisher.close();
    }
  });

  test.after(() => dropTestDatabases());
} else {
  console.log('campaign-store.test.ts: PostgreSQL part skipped, TEST_POSTGRES_URL is not set (.ci/run sets it)');
}

test.run();
