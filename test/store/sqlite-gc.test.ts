import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/e2e.ts';

/**
 * Node 24.19+ aborts the process when V8 collects a better-sqlite3 object that died young (see `retained` in
 * src/store/sqlite-database.ts). The store keeps every database and statement for that reason; these tests hold
 * it to that on whichever Node runs the suite (CI runs it on Node 20 and on Node 24).
 */

const CHILD = join(REPO_ROOT, 'test/store/sqlite-gc-child.ts');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const nodeAbortsOnCollectedObjects = major > 24 || (major === 24 && minor >= 19);

function runChild(mode: 'store' | 'raw'): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, mode, '30'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

test(`the store's databases and statements survive garbage collection (Node ${process.versions.node})`, () => {
  const r = runChild('store');
  assert.is(r.signal, null, `aborted (${r.signal}): ${r.stderr.slice(0, 400)}`);
  assert.is(r.status, 0, r.stderr.slice(0, 400));
  assert.match(r.stdout, 'survived 30');
});

test('control: better-sqlite3 objects dropped without the store abort Node 24.19+ (so the check above can fail)', () => {
  const r = runChild('raw');
  if (nodeAbortsOnCollectedObjects) {
    // If this stops aborting, a newer better-sqlite3 or Node fixed it: the retention in sqlite-database.ts may go.
    assert.is(r.signal, 'SIGABRT', `expected the abort on Node ${process.versions.node}; exit ${r.status}`);
  } else {
    assert.is(r.status, 0, `Node ${process.versions.node} does not abort on collected objects: ${r.stderr.slice(0, 400)}`);
  }
});

/** Source files that could make a better-sqlite3 object: every .ts/.js/.mjs/.cjs under these folders. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (/\.(ts|js|mjs|cjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

test('nothing makes better-sqlite3 objects outside openRetainedDatabase (no new Database, pragma(), iterate())', () => {
  const allowed = new Set(['src/store/sqlite-database.ts', 'test/store/sqlite-gc-child.ts', 'test/store/sqlite-gc.test.ts']);
  const forbidden = [
    /^\s*import\s+(?!type\b)[^;]*from\s+['"]better-sqlite3['"]/m,
    /require\(\s*['"]better-sqlite3['"]\s*\)/,
    /new\s+Database\s*\(/,
  ];
  // pragma() and iterate() only where a SQLite handle can be in reach (other libraries have an iterate()).
  const usesSqlite = /better-sqlite3|sqlite-database|SqliteDatabase/;
  const forbiddenOnSqlite = [/\.pragma\s*\(/, /\.iterate\s*\(/];
  const offenders: string[] = [];
  for (const file of ['src', 'test', 'bench', 'bin'].flatMap(sources)) {
    const rel = relative('.', file).split('\\').join('/');
    if (allowed.has(rel)) continue;
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    const patterns = usesSqlite.test(text) ? [...forbidden, ...forbiddenOnSqlite] : forbidden;
    for (const pattern of patterns) if (pattern.test(text)) offenders.push(`${rel}: ${pattern.source}`);
  }
  assert.equal(offenders, [], 'use openRetainedDatabase / readPragma from src/store/sqlite-database.ts');
});

test.run();
