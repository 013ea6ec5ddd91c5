import type { NewQaHit, QaGroupBy, QaHit, QaHitQuery, QaStore, QaSummaryQuery, QaSummaryRow } from './qa-types.ts';
import { fromQaRow, QA_COLUMNS, qaHitValues, qaLimit, qaOrderBy, qaSummarySql, qaWhere, type QaHitRow } from './qa-rows.ts';
import { runWrite, type SqliteDatabase } from './sqlite-database.ts';

/** QA hits in SQLite. Statements come from `db.prepare`, cached per SQL text by the retained database. */
export class SqliteQaStore implements QaStore {
  constructor(private readonly db: SqliteDatabase) {}

  async addHits(hits: readonly NewQaHit[]): Promise<void> {
    if (hits.length === 0) return;
    const rows = hits.map(qaHitValues);
    const insert = this.db.prepare(`INSERT INTO qa_hits (${QA_COLUMNS.join(', ')}) VALUES (${QA_COLUMNS.map(() => '?').join(', ')})`);
    runWrite('addQaHits', () => this.db.transaction(() => rows.forEach((r) => insert.run(...r)))(), 'QA hit');
  }

  async listHits(query: QaHitQuery = {}): Promise<QaHit[]> {
    const limit = qaLimit(query);
    const { where, params } = qaWhere(query, () => '?');
    const rows = this.db.prepare(`SELECT * FROM qa_hits ${where} ${qaOrderBy(query)} LIMIT ?`).all(...params, limit) as QaHitRow[];
    return rows.map(fromQaRow);
  }

  async summary(groupBy: QaGroupBy, query: QaSummaryQuery = {}): Promise<QaSummaryRow[]> {
    const { where, params } = qaWhere(query, () => '?');
    const rows = this.db.prepare(qaSummarySql(groupBy, where)).all(...params) as { key: string; hits: number; calls: number; score: number }[];
    return rows.map((r) => ({ key: String(r.key), hits: Number(r.hits), calls: Number(r.calls), score: Number(r.score) }));
  }
}
