/**
 * Run by sqlite-gc.test.ts in a child process, because what it checks is whether the process aborts. Opens and
 * closes SQLite databases in a loop with enough allocation in between for V8 to collect what became garbage:
 * - `store`: through callpilot's store (openSqliteStore: migrations, statements, pragmas, transactions, close);
 * - `raw`: better-sqlite3 objects made directly and dropped (the control: Node 24.19+ aborts the process on it).
 * Prints `survived N` and exits 0 when nothing aborted.
 */
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/index.ts';

const mode = process.argv[2];
const rounds = Number(process.argv[3] ?? 30);

function churn(): number {
  // Allocation in the same task as the drop: the collections it triggers are the ones that abort Node 24.19+.
  const junk: Array<{ n: number; s: string }> = [];
  for (let i = 0; i < 10_000; i++) junk.push({ n: i, s: `x${i}` });
  return junk.length;
}

const kept = mode === 'store' ? openSqliteStore(':memory:') : undefined;
for (let round = 0; round < rounds; round++) {
  if (kept) {
    // Statements made per query (QA listings build their SQL) and a whole store opened and closed.
    await kept.qa.listHits({ limit: 5 });
    await kept.calls.listCalls({ limit: 5 });
    const store = openSqliteStore(':memory:');
    await store.qa.listHits({ limit: 5 });
    await store.close();
  } else if (mode === 'raw') {
    const db = new Database(':memory:');
    db.prepare('SELECT 1').get();
    db.close();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  churn();
}
await kept?.close();
process.stdout.write(`survived ${rounds}\n`);
