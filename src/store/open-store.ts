import type { Logger } from 'pino';
import type { StoreConfig } from './config.ts';
import { SqliteCallStore } from './sqlite-call-store.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  log?: Logger;
}

/** Opens the SQLite store at `path` (`:memory:` for tests). */
export function openSqliteStore(path: string, opts: OpenStoreOptions = {}): Store {
  const db = openSqliteDatabase(path, opts.log);
  return {
    backend: 'sqlite',
    calls: new SqliteCallStore(db, opts.log),
    close: async () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Opens the store the config names. `path` is resolved by the caller (relative to the working directory).
 */
export async function openStore(config: StoreConfig, resolvedPath: string, opts: OpenStoreOptions = {}): Promise<Store> {
  void config;
  return openSqliteStore(resolvedPath, opts);
}
