import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAuth } from '../../src/auth/index.ts';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { openRetainedDatabase } from '../../src/store/sqlite-database.ts';
import { dropTestDatabases, freshDatabase, POSTGRES_URL } from './postgres-harness.ts';
import { testLog } from '../support/run-log.ts';

/*
 * The audit log is append-only and hash-chained: every row stores the previous row's hash and its own, so an
 * edit, a deleted row or a reordering made behind callpilot's back (straight in the database) shows in verify().
 * Run against SQLite always and PostgreSQL when .ci/run provides one.
 */

const log = testLog();
const scratch = mkdtempSync(join(tmpdir(), 'callpilot-audit-'));
let files = 0;

interface Backend {
  name: string;
  open(): Promise<{ store: Store; exec(sql: string): Promise<void>; reopen(): Promise<Store> }>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const path = join(scratch, `audit-${++files}.db`);
      const store = openSqliteStore(path, { log });
      return {
        store,
        exec: async (sql) => {
          const raw = openRetainedDatabase(path);
          try {
            raw.exec(sql);
          } finally {
            raw.close();
          }
        },
        reopen: async () => openSqliteStore(path, { log }),
      };
    },
  },
];
if (POSTGRES_URL) {
  backends.push({
    name: 'postgres',
    async open() {
      const url = await freshDatabase();
      const config = storeConfigSchema.parse({ url, postgres: { journalPath: join(scratch, `journal-${++files}.jsonl`) } });
      const store = await openPostgresStore(config, { log, nodeId: 'node-a' });
      return {
        store,
        exec: async (sql) => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            await client.query(sql);
          } finally {
            await client.end();
          }
        },
        reopen: async () => openPostgresStore(config, { log, nodeId: 'node-a' }),
      };
    },
  });
} else {
  console.log('audit-and-tokens.test.ts: PostgreSQL part skipped, TEST_POSTGRES_URL is not set');
}

test.after(async () => {
  if (POSTGRES_URL) await dropTestDatabases();
  rmSync(scratch, { recursive: true, force: true });
});

async function appendSome(store: Store, n: number): Promise<void> {
  const audit = createAuth(store).audit;
  for (let i = 0; i < n; i++) {
    await audit.record({ tokenId: `tok_${i}`, name: `user-${i}`, role: 'auditor', grants: [], via: 'bearer' }, 'transcript.read', `call-${i}`, { n: i, note: '中文' });
  }
}

for (const backend of backends) {
  test(`${backend.name}: rows chain onto each other and verify; the database refuses updates and deletes`, async () => {
    const { store, exec } = await backend.open();
    try {
      await appendSome(store, 5);
      const rows = await store.audit.list({ limit: 10 });
      assert.equal(rows.map((r) => r.seq), [1, 2, 3, 4, 5]);
      assert.is(rows[0]!.prevHash, '0'.repeat(64));
      for (let i = 1; i < rows.length; i++) assert.is(rows[i]!.prevHash, rows[i - 1]!.hash);
      assert.equal(await store.audit.verify(), { ok: true, rows: 5 });
      // Newest first with `before`, for paging back from the end.
      assert.equal((await store.audit.list({ before: 4, limit: 2 })).map((r) => r.seq), [3, 2]);
      let refused = '';
      await exec("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2").catch((err: Error) => (refused = err.message));
      assert.match(refused, /append-only/);
      refused = '';
      await exec('DELETE FROM audit_log WHERE seq = 2').catch((err: Error) => (refused = err.message));
      assert.match(refused, /append-only/);
    } finally {
      await store.close();
    }
  });

  test(`${backend.name}: tampering behind callpilot's back is detected (edited row, deleted row)`, async () => {
    const { store, exec, reopen } = await backend.open();
    await appendSome(store, 6);
    await store.close();
    // Someone with database access drops the guard and rewrites who read call-2.
    const dropGuard =
      backend.name === 'sqlite' ? 'DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;' : 'DROP TRIGGER audit_log_no_change ON audit_log;';
    await exec(dropGuard);
    await exec("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3");
    let reopened = await reopen();
    let verdict = await reopened.audit.verify();
    assert.equal(verdict.ok, false);
    assert.is(!verdict.ok && verdict.badSeq, 3);
    assert.match(!verdict.ok ? verdict.reason : '', /hash/);
    await reopened.close();

    // Restoring the field but deleting a later row is caught too.
    await exec("UPDATE audit_log SET actor = 'user-2' WHERE seq = 3");
    await exec('DELETE FROM audit_log WHERE seq = 5');
    reopened = await reopen();
    verdict = await reopened.audit.verify();
    assert.is(!verdict.ok && verdict.badSeq, 6);
    assert.match(!verdict.ok ? verdict.reason : '', /missing/);
    await reopened.close();
  });

  test(`${backend.name}: tokens and sessions round-trip; revoking a token deletes its sessions; secrets are created once`, async () => {
    const { store } = await backend.open();
    try {
      const auth = createAuth(store);
      const { token, info } = await auth.tokens.create({ role: 'operator', name: 'desk 1', grants: ['unmask'] });
      const principal = await auth.tokens.authenticate(token);
      assert.equal(principal, { tokenId: info.id, name: 'desk 1', role: 'operator', grants: ['unmask'], via: 'bearer' });
      assert.is(await auth.tokens.authenticate(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')), undefined);
      assert.is(await store.tokens.countUsableTokens(new Date().toISOString()), 1);
      await store.tokens.putSession({ idHash: 'a'.repeat(64), tokenId: info.id, data: '{}', expiresAt: new Date(Date.now() + 60_000).toISOString(), createdAt: new Date().toISOString() });
      assert.ok(await store.tokens.getSession('a'.repeat(64)));
      assert.is(await auth.tokens.revoke(info.id), true);
      assert.is(await auth.tokens.revoke(info.id), false);
      assert.is(await store.tokens.getSession('a'.repeat(64)), undefined);
      assert.is(await auth.tokens.authenticate(token), undefined);
      assert.is(await store.tokens.countUsableTokens(new Date().toISOString()), 0);
      const first = await store.tokens.secret('session-cookie', () => 'first-value-of-at-least-32-characters');
      const second = await store.tokens.secret('session-cookie', () => 'a-different-value-never-stored-here');
      assert.is(first, 'first-value-of-at-least-32-characters');
      assert.is(second, first);
    } finally {
      await store.close();
    }
  });
}

test.run();
