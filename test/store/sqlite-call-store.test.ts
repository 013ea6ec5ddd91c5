import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/store/index.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { callStoreContract, silentLog as log } from './call-store-contract.ts';

const scratch = mkdtempSync(join(tmpdir(), 'callpilot-store-'));
let dbCounter = 0;
const freshPath = (): string => join(scratch, `nested/dir-${++dbCounter}/calls.db`);

test.after(() => rmSync(scratch, { recursive: true, force: true }));

callStoreContract(test, {
  name: 'sqlite',
  fresh: async () => {
    const path = freshPath();
    return { store: openSqliteStore(path, { log }), reopen: async () => openSqliteStore(path, { log }) };
  },
  fromTheFuture: async () => {
    const path = freshPath();
    await openSqliteStore(path, { log }).close();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    return async () => openSqliteStore(path, { log });
  },
});

test('sqlite: creates the folder, WAL mode and the schema version', async () => {
  const path = freshPath();
  await openSqliteStore(path, { log }).close();
  assert.ok(existsSync(path));
  const raw = new Database(path, { readonly: true });
  assert.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(raw.pragma('user_version', { simple: true }), MIGRATIONS.length);
  raw.close();
});

test.run();
