import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { MIGRATIONS } from './migrations.ts';
import { StoreError } from './store-error.ts';

export type SqliteDatabase = Database.Database;

/**
 * Opens (creating and migrating as needed) the SQLite database every SQLite sub-store shares. `:memory:` works for
 * tests.
 */
export function openSqliteDatabase(path: string, log?: Logger): SqliteDatabase {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
  let db: SqliteDatabase;
  try {
    db = new Database(path);
  } catch (err) {
    throw new StoreError(`cannot open SQLite database at ${path}: ${(err as Error).message}`, 'open', { cause: err });
  }
  try {
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL loses at most the last transactions on power loss, never corrupts; FULL costs an fsync per turn.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, path, log);
  } catch (err) {
    db.close();
    throw err instanceof StoreError ? err : new StoreError((err as Error).message, 'open', { cause: err });
  }
  return db;
}

function migrate(db: SqliteDatabase, path: string, log?: Logger): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new StoreError(`database ${path} has schema version ${current}, newer than this callpilot knows (${MIGRATIONS.length})`, 'open');
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
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
