import { auditRowHash, fromAuditRow, GENESIS_HASH, newAuditEntrySchema, type AuditRow } from './audit-hash.ts';
import type { AuditEntry, AuditStore, AuditVerification, NewAuditEntry } from './audit-types.ts';
import type { PostgresDatabase } from './postgres-database.ts';
import { describeIssues } from './record-schemas.ts';
import { StoreError } from './store-error.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** pg_advisory_xact_lock key serializing appends across nodes, so the chain never forks. */
const AUDIT_APPEND_LOCK = 0x0a0d17;

interface PgAuditRow extends Omit<AuditRow, 'seq'> {
  seq: string | number;
}

/** The audit log on PostgreSQL; appends from every node chain onto one sequence under an advisory lock. */
export class PostgresAuditStore implements AuditStore {
  constructor(private readonly db: PostgresDatabase) {}

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const parsed = newAuditEntrySchema.safeParse(entry);
    if (!parsed.success) throw new StoreError(`malformed audit entry: ${describeIssues(parsed.error)}`, 'appendAudit');
    const detailJson = JSON.stringify(parsed.data.detail);
    return this.db.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_APPEND_LOCK]);
      const { rows } = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      const last = rows[0];
      const row: Omit<AuditEntry, 'hash'> = { seq: (last ? Number(last.seq) : 0) + 1, ...parsed.data, prevHash: last?.hash ?? GENESIS_HASH };
      const hash = auditRowHash(row, detailJson);
      await client.query(
        `INSERT INTO audit_log (seq, at, actor, role, token_id, action, target, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [row.seq, row.at, row.actor, row.role, row.tokenId ?? null, row.action, row.target ?? null, detailJson, row.prevHash, hash],
      );
      return { ...row, hash };
    });
  }

  async list(opts: { after?: number; before?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new StoreError(`limit must be an integer 1..${MAX_LIMIT}, got ${limit}`, 'listAudit');
    const { rows } =
      opts.before !== undefined
        ? await this.db.query<PgAuditRow>('SELECT * FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2', [opts.before, limit])
        : await this.db.query<PgAuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [opts.after ?? 0, limit]);
    return rows.map((r) => fromAuditRow({ ...r, seq: Number(r.seq) }));
  }

  async verify(): Promise<AuditVerification> {
    const { rows } = await this.db.query<PgAuditRow>('SELECT * FROM audit_log ORDER BY seq');
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let count = 0;
    for (const raw of rows) {
      count++;
      const row = { ...raw, seq: Number(raw.seq) };
      if (row.seq !== expectedSeq) return { ok: false, rows: count, badSeq: row.seq, reason: `expected row ${expectedSeq} here: a row is missing` };
      if (row.prev_hash !== prevHash) return { ok: false, rows: count, badSeq: row.seq, reason: 'does not link to the previous row' };
      if (auditRowHash(fromAuditRow(row), row.detail) !== row.hash) return { ok: false, rows: count, badSeq: row.seq, reason: 'content does not match its hash' };
      prevHash = row.hash;
      expectedSeq++;
    }
    return { ok: true, rows: count };
  }
}
