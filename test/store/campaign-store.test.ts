import { test } from 'uvu';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { campaignStoreContract } from './campaign-store-contract.ts';
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
  test.after(() => dropTestDatabases());
} else {
  console.log('campaign-store.test.ts: PostgreSQL part skipped, TEST_POSTGRES_URL is not set (.ci/run sets it)');
}

test.run();
