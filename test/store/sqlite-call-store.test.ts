import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/store/index.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { openRetainedDatabase, readPragma } from '../../src/store/sqlite-database.ts';
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
    const raw = openRetainedDatabase(path);
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    return async () => openSqliteStore(path, { log });
  },
});

test('sqlite: creates the folder, WAL mode and the schema version', async () => {
  const path = freshPath();
  await openSqliteStore(path, { log }).close();
  assert.ok(existsSync(path));
  const raw = openRetainedDatabase(path, { readonly: true });
  assert.is(readPragma(raw, 'journal_mode'), 'wal');
  assert.is(readPragma(raw, 'user_version'), MIGRATIONS.length);
  raw.close();
});

test.run();
