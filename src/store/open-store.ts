import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { StoreConfig } from './config.ts';
import { PostgresAuditStore } from './postgres-audit-store.ts';
import { PostgresCallStore } from './postgres-call-store.ts';
import { PostgresCampaignStore } from './postgres-campaign-store.ts';
import { PostgresDatabase, redactUrl } from './postgres-database.ts';
import { PostgresTokenStore } from './postgres-tokens-store.ts';
import { PostgresWriteQueue } from './postgres-write-queue.ts';
import { SqliteAuditStore } from './sqlite-audit-store.ts';
import { SqliteCallStore } from './sqlite-call-store.ts';
import { SqliteNodeStore } from './sqlite-node-store.ts';
import { PostgresNodeStore } from './postgres-node-store.ts';
import { SqliteCampaignStore } from './sqlite-campaign-store.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import { SqliteTokenStore } from './sqlite-tokens-store.ts';
import { SqliteQaStore } from './sqlite-qa-store.ts';
import { PostgresQaStore } from './postgres-qa-store.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  log?: Logger;
  /** Folder relative paths in the config are resolved against (default: the working directory). */
  cwd?: string;
  /** This node's id, stamped on the calls it runs (default: the host name). */
  nodeId?: string;
}

/** Opens the SQLite store at `path` (`:memory:` for tests). */
export function openSqliteStore(path: string, opts: OpenStoreOptions = {}): Store {
  const db = openSqliteDatabase(path, opts.log);
  return {
    backend: 'sqlite',
    calls: new SqliteCallStore(db, opts.log),
    nodes: new SqliteNodeStore(db),
    health: () => ({ ok: db.open, detail: db.open ? undefined : 'closed' }),
    tokens: new SqliteTokenStore(db),
    audit: new SqliteAuditStore(db),
    campaigns: new SqliteCampaignStore(db),
    qa: new SqliteQaStore(db),
    close: async () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Opens a PostgreSQL store: connects, migrates under an advisory lock, and replays writes a previous run kept
 * while the database was unreachable. Fails with a StoreError naming the database (without its password).
 */
export async function openPostgresStore(config: StoreConfig, opts: OpenStoreOptions = {}): Promise<Store> {
  if (!config.url) throw new Error('openPostgresStore needs store.url');
  const cwd = opts.cwd ?? process.cwd();
  const db = new PostgresDatabase(
    {
      url: config.url,
      poolSize: config.postgres.poolSize,
      connectTimeoutMs: config.postgres.connectTimeoutMs,
      idleTimeoutMs: config.postgres.idleTimeoutMs,
      sslMode: config.postgres.sslMode,
      caFile: config.postgres.caFile ? resolve(cwd, config.postgres.caFile) : undefined,
    },
    opts.log,
  );
  try {
    await db.migrate();
    const writes = new PostgresWriteQueue(db, resolve(cwd, config.postgres.journalPath), opts.log);
    const replayed = await writes.replayJournal();
    if (replayed > 0) opts.log?.warn({ writes: replayed }, 'replayed writes kept while PostgreSQL was unreachable');
    opts.log?.info({ db: db.where }, 'store on PostgreSQL');
    return {
      backend: 'postgres',
      calls: new PostgresCallStore(db, writes, opts.nodeId ?? hostname(), opts.log),
      nodes: new PostgresNodeStore(db),
      campaigns: new PostgresCampaignStore(db),
      qa: new PostgresQaStore(db),
      health: () => writes.health(),
      tokens: new PostgresTokenStore(db),
      audit: new PostgresAuditStore(db),
      close: async () => {
        // Give kept writes a moment to land; whatever is left stays in the journal for the next start.
        await writes.drained(2000);
        writes.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** Opens the store the config names: PostgreSQL when `store.url` is set, else SQLite at `store.path`. */
export async function openStore(config: StoreConfig, opts: OpenStoreOptions = {}): Promise<Store> {
  if (config.url) return openPostgresStore(config, opts);
  return openSqliteStore(resolve(opts.cwd ?? process.cwd(), config.path), opts);
}

export { redactUrl };
