import { z } from 'zod';
import type { NewQaHit, QaGroupBy, QaHit, QaHitQuery } from './qa-types.ts';
import { describeIssues } from './record-schemas.ts';
import { StoreError } from './store-error.ts';

export const QA_DEFAULT_LIMIT = 100;
export const QA_MAX_LIMIT = 10_000;

const newQaHitSchema = z.object({
  callId: z.string().min(1).max(128),
  flow: z.string().max(128).optional(),
  ruleSet: z.string().min(1).max(128),
  ruleId: z.string().min(1).max(128),
  ruleType: z.string().min(1).max(32),
  severity: z.enum(['info', 'minor', 'major', 'critical']),
  score: z.number().int().min(0).max(1000),
  leg: z.enum(['caller', 'bot']).optional(),
  text: z.string().max(4000),
  atMs: z.number().finite().min(0),
  endMs: z.number().finite().min(0).optional(),
  live: z.boolean(),
  detail: z.record(z.string(), z.unknown()).optional(),
  at: z.string().min(10).max(40),
});

export interface QaHitRow {
  id: number | string;
  call_id: string;
  flow: string | null;
  rule_set: string;
  rule_id: string;
  rule_type: string;
  severity: string;
  score: number;
  leg: string | null;
  text: string;
  at_ms: number | string;
  end_ms: number | string | null;
  live: number | boolean;
  detail: string | Record<string, unknown>;
  at: string;
}

export const QA_COLUMNS = ['call_id', 'flow', 'rule_set', 'rule_id', 'rule_type', 'severity', 'score', 'leg', 'text', 'at_ms', 'end_ms', 'live', 'detail', 'at'] as const;

/** Validated column values of a hit, in QA_COLUMNS order. */
export function qaHitValues(hit: NewQaHit): (string | number | null)[] {
  const parsed = newQaHitSchema.safeParse(hit);
  if (!parsed.success) throw new StoreError(`malformed QA hit: ${describeIssues(parsed.error)}`, 'addQaHits');
  const h = parsed.data;
  return [h.callId, h.flow ?? null, h.ruleSet, h.ruleId, h.ruleType, h.severity, h.score, h.leg ?? null, h.text, Math.round(h.atMs), h.endMs === undefined ? null : Math.round(h.endMs), h.live ? 1 : 0, JSON.stringify(h.detail ?? {}), h.at];
}

export function fromQaRow(r: QaHitRow): QaHit {
  return {
    id: Number(r.id),
    callId: r.call_id,
    ...(r.flow !== null ? { flow: r.flow } : {}),
    ruleSet: r.rule_set,
    ruleId: r.rule_id,
    ruleType: r.rule_type,
    severity: r.severity as QaHit['severity'],
    score: Number(r.score),
    ...(r.leg !== null ? { leg: r.leg as QaHit['leg'] } : {}),
    text: r.text,
    atMs: Number(r.at_ms),
    ...(r.end_ms !== null ? { endMs: Number(r.end_ms) } : {}),
    live: r.live === true || r.live === 1,
    detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
    at: r.at,
  };
}

/** WHERE clause and parameters for a hit query; `ph(n)` writes the n-th placeholder (`?` or `$n`). */
export function qaWhere(query: QaHitQuery, ph: (n: number) => string): { where: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, value: string | number): void => {
    params.push(value);
    clauses.push(sql.replace('?', ph(params.length)));
  };
  if (query.callId !== undefined) add('call_id = ?', query.callId);
  if (query.flow !== undefined) add('flow = ?', query.flow);
  if (query.ruleId !== undefined) add('rule_id = ?', query.ruleId);
  if (query.severity !== undefined) add('severity = ?', query.severity);
  if (query.from !== undefined) add('at >= ?', query.from);
  if (query.to !== undefined) add('at < ?', query.to);
  if (query.after !== undefined) add('id > ?', query.after);
  if (query.before !== undefined) add('id < ?', query.before);
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** The ORDER BY of a hit listing: by id (the primary key, so newest first is the same index walked backwards). */
export function qaOrderBy(query: QaHitQuery): string {
  return query.order === 'newest' ? 'ORDER BY id DESC' : 'ORDER BY id';
}

export function qaLimit(query: QaHitQuery): number {
  const limit = query.limit ?? QA_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > QA_MAX_LIMIT) throw new StoreError(`limit must be an integer 1..${QA_MAX_LIMIT}, got ${limit}`, 'listQaHits');
  return limit;
}

const GROUP_COLUMNS: Record<QaGroupBy, string> = {
  rule: 'rule_id',
  flow: "COALESCE(flow, '')",
  severity: 'severity',
  day: 'substr(at, 1, 10)',
  call: 'call_id',
};

export function qaSummarySql(groupBy: QaGroupBy, where: string): string {
  const column = GROUP_COLUMNS[groupBy];
  if (!column) throw new StoreError(`cannot group QA hits by ${String(groupBy)}`, 'qaSummary');
  return `SELECT ${column} AS key, COUNT(*) AS hits, COUNT(DISTINCT call_id) AS calls, SUM(score) AS score FROM qa_hits ${where} GROUP BY ${column} ORDER BY hits DESC, key`;
}
