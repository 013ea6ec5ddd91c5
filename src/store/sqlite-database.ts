import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { MIGRATIONS } from './migrations.ts';
import { StoreError } from './store-error.ts';

export type SqliteDatabase = Database.Database;

/**
 * Node 24.19 and later abort the whole process when V8 collects a better-sqlite3 object outside a Node context
 * ("Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook, from the ObjectWrap destructor its headers now
 * compile in). better-sqlite3 13 no longer uses ObjectWrap but does not run on Node 20. So no better-sqlite3 object may
 * become garbage: each statement is prepared once per SQL text and kept with its database, nothing uses `pragma()` or
 * `iterate()` (both make throwaway native objects), and every database a process opens is kept until it exits (one or
 * two per server; a closed one holds no file and no statement handle). At exit Node frees them through its own
 * cleanup hooks, inside a context.
 */
const retained = new Set<SqliteDatabase>();

/** Opens a database whose statements are prepared once per SQL text and never garbage-collected (see `retained`). */
export function openRetainedDatabase(path: string, options?: Database.Options): SqliteDatabase {
  const db = new Database(path, options);
  retained.add(db);
  const prepared = new Map<string, Database.Statement>();
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    let statement = prepared.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      prepared.set(sql, statement);
    }
    return statement;
  }) as typeof db.prepare;
  return db;
}

/** Reads one PRAGMA value through a kept statement (`db.pragma()` would make a throwaway one). */
export function readPragma(db: SqliteDatabase, name: string): unknown {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
  return row === undefined ? undefined : Object.values(row)[0];
}

/**
 * Opens (creating and migrating as needed) the SQLite database every SQLite sub-store shares. `:memory:` works for
 * tests.
 */
export function openSqliteDatabase(path: string, log?: Logger): SqliteDatabase {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
  let db: SqliteDatabase;
  try {
    db = openRetainedDatabase(path);
  } catch (err) {
    throw new StoreError(`cannot open SQLite database at ${path}: ${(err as Error).message}`, 'open', { cause: err });
  }
  try {
    // exec, not pragma(): see `retained`.
    // WAL + NORMAL loses at most the last transactions on power loss, never corrupts; FULL costs an fsync per turn.
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000');
    migrate(db, path, log);
  } catch (err) {
    db.close();
    throw err instanceof StoreError ? err : new StoreError((err as Error).message, 'open', { cause: err });
  }
  return db;
}

function migrate(db: SqliteDatabase, path: string, log?: Logger): void {
  const current = Number(readPragma(db, 'user_version'));
  if (current > MIGRATIONS.length) {
    throw new StoreError(`database ${path} has schema version ${current}, newer than this callpilot knows (${MIGRATIONS.length})`, 'open');
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    })();
    log?.info({ path, version: version + 1 }, 'store schema migrated');
  }
}

/** Runs a write, turning SQLite constraint failures into errors that say which record and why. */
export function runWrite<T>(operation: string, write: () => T, what: string, parent = 'call'): T {
  try {
    return write();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw new StoreError(`${what} already exists`, operation, { cause: err });
    }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      throw new StoreError(`${what}: no such ${parent}`, operation, { cause: err });
    }
    throw new StoreError(`${what}: ${(err as Error).message}`, operation, { cause: err });
  }
}
