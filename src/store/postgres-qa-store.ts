import type { PostgresDatabase } from './postgres-database.ts';
import type { NewQaHit, QaGroupBy, QaHit, QaHitQuery, QaStore, QaSummaryQuery, QaSummaryRow } from './qa-types.ts';
import { fromQaRow, QA_COLUMNS, qaHitValues, qaLimit, qaOrderBy, qaSummarySql, qaWhere, type QaHitRow } from './qa-rows.ts';

/** QA hits on PostgreSQL; one multi-row INSERT per batch. */
export class PostgresQaStore implements QaStore {
  constructor(private readonly db: PostgresDatabase) {}

  async addHits(hits: readonly NewQaHit[]): Promise<void> {
    if (hits.length === 0) return;
    const params: (string | number | null)[] = [];
    const tuples = hits.map((hit) => {
      const values = qaHitValues(hit);
      const start = params.length;
      params.push(...values);
      return `(${values.map((_, i) => `$${start + i + 1}`).join(', ')})`;
    });
    await this.db.query(`INSERT INTO qa_hits (${QA_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }

  async listHits(query: QaHitQuery = {}): Promise<QaHit[]> {
    const limit = qaLimit(query);
    const { where, params } = qaWhere(query, (n) => `$${n}`);
    const { rows } = await this.db.query<QaHitRow & Record<string, unknown>>(`SELECT * FROM qa_hits ${where} ${qaOrderBy(query)} LIMIT $${params.length + 1}`, [...params, limit]);
    return rows.map(fromQaRow);
  }

  async summary(groupBy: QaGroupBy, query: QaSummaryQuery = {}): Promise<QaSummaryRow[]> {
    const { where, params } = qaWhere(query, (n) => `$${n}`);
    const { rows } = await this.db.query<{ key: string; hits: string; calls: string; score: string }>(qaSummarySql(groupBy, where), params);
    return rows.map((r) => ({ key: String(r.key), hits: Number(r.hits), calls: Number(r.calls), score: Number(r.score) }));
  }
}
