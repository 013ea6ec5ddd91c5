import type Database from 'better-sqlite3';
import { auditRowHash, fromAuditRow, GENESIS_HASH, newAuditEntrySchema, type AuditRow } from './audit-hash.ts';
import type { AuditEntry, AuditStore, AuditVerification, NewAuditEntry } from './audit-types.ts';
import { describeIssues } from './record-schemas.ts';
import { runWrite, type SqliteDatabase } from './sqlite-database.ts';
import { StoreError } from './store-error.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** The audit log in SQLite: one transaction reads the last hash and appends, so the chain has no forks. */
export class SqliteAuditStore implements AuditStore {
  private readonly s: {
    last: Database.Statement<[], { seq: number; hash: string }>;
    insert: Database.Statement;
    after: Database.Statement<[number, number], AuditRow>;
    before: Database.Statement<[number, number], AuditRow>;
  };

  constructor(private readonly db: SqliteDatabase) {
    this.s = {
      last: db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare(
        `INSERT INTO audit_log (seq, at, actor, role, token_id, action, target, detail, prev_hash, hash)
         VALUES (@seq, @at, @actor, @role, @token_id, @action, @target, @detail, @prev_hash, @hash)`,
      ),
      after: db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?'),
      before: db.prepare('SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?'),
    };
  }

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const parsed = newAuditEntrySchema.safeParse(entry);
    if (!parsed.success) throw new StoreError(`malformed audit entry: ${describeIssues(parsed.error)}`, 'appendAudit');
    let detailJson: string;
    try {
      detailJson = JSON.stringify(parsed.data.detail);
    } catch (err) {
      throw new StoreError(`audit detail is not JSON-serializable (${(err as Error).message})`, 'appendAudit');
    }
    const append = this.db.transaction((): AuditEntry => {
      const last = this.s.last.get();
      const row: Omit<AuditEntry, 'hash'> = {
        seq: (last?.seq ?? 0) + 1,
        ...parsed.data,
        prevHash: last?.hash ?? GENESIS_HASH,
      };
      const hash = auditRowHash(row, detailJson);
      this.s.insert.run({
        seq: row.seq,
        at: row.at,
        actor: row.actor,
        role: row.role,
        token_id: row.tokenId ?? null,
        action: row.action,
        target: row.target ?? null,
        detail: detailJson,
        prev_hash: row.prevHash,
        hash,
      });
      return { ...row, hash };
    });
    // IMMEDIATE: take the write lock before reading the last hash, so two processes cannot chain onto the same row.
    return runWrite('appendAudit', () => append.immediate(), `audit entry ${entry.action}`);
  }

  async list(opts: { after?: number; before?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new StoreError(`limit must be an integer 1..${MAX_LIMIT}, got ${limit}`, 'listAudit');
    }
    const rows = opts.before !== undefined ? this.s.before.all(opts.before, limit) : this.s.after.all(opts.after ?? 0, limit);
    return rows.map(fromAuditRow);
  }

  async verify(): Promise<AuditVerification> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    // Pages, not iterate(): an iterator is a native object that must not become garbage (see sqlite-database.ts).
    for (let page = this.s.after.all(0, MAX_LIMIT); page.length > 0; page = this.s.after.all(prevSeq(page), MAX_LIMIT)) {
      for (const row of page) {
        rows++;
        const entry = fromAuditRow(row);
        if (row.seq !== expectedSeq) return { ok: false, rows, badSeq: row.seq, reason: `expected row ${expectedSeq} here: a row is missing` };
        if (row.prev_hash !== prevHash) return { ok: false, rows, badSeq: row.seq, reason: 'does not link to the previous row' };
        if (auditRowHash(entry, row.detail) !== row.hash) return { ok: false, rows, badSeq: row.seq, reason: 'content does not match its hash' };
        prevHash = row.hash;
        expectedSeq++;
      }
    }
    return { ok: true, rows };
  }
}

/** The last sequence number of a non-empty page: the next page starts after it. */
function prevSeq(page: readonly AuditRow[]): number {
  return page[page.length - 1]!.seq;
}
