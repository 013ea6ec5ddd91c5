/** QA (质检) hits as stored: which rule fired on which call, on which leg, what was said and where in the recording. */

export type QaSeverity = 'info' | 'minor' | 'major' | 'critical';
export type QaLeg = 'caller' | 'bot';

export interface NewQaHit {
  callId: string;
  flow?: string;
  /** The rule file's `qa:` name. */
  ruleSet: string;
  ruleId: string;
  ruleType: string;
  severity: QaSeverity;
  /** Points deducted for this hit (the rule's score). */
  score: number;
  /** The leg that said it; absent for whole-call rules (silence, talk-over, missing disclosures). */
  leg?: QaLeg;
  /** What was said (masked before storing), or what was missing / measured. */
  text: string;
  /** Where it is in the call's recording, ms from its start (the audio clock). */
  atMs: number;
  endMs?: number;
  /** Found in real time on a final (true) or by the end-of-call run (false). */
  live: boolean;
  detail?: Record<string, unknown>;
  /** ISO 8601, when it was found. */
  at: string;
}

export interface QaHit extends NewQaHit {
  /** Increasing; the cursor of hit lists. */
  id: number;
}

export interface QaHitQuery {
  callId?: string;
  flow?: string;
  ruleId?: string;
  severity?: QaSeverity;
  /** ISO 8601 bounds on `at` (from inclusive, to exclusive). */
  from?: string;
  to?: string;
  /** Only hits with a larger id (cursor of the previous page, oldest first). */
  after?: number;
  /** Only hits with a smaller id (cursor of the previous page, newest first). */
  before?: number;
  /** Listing order by id (ids grow as hits are stored): `oldest` first by default. */
  order?: QaHitOrder;
  limit?: number;
}

export type QaHitOrder = 'oldest' | 'newest';

/** The filters of a QA summary: a hit query without its paging. */
export type QaSummaryQuery = Omit<QaHitQuery, 'after' | 'before' | 'order' | 'limit'>;

export type QaGroupBy = 'rule' | 'flow' | 'severity' | 'day' | 'call';

export interface QaSummaryRow {
  /** The rule id, flow, severity, day (YYYY-MM-DD) or call id the row counts. */
  key: string;
  hits: number;
  calls: number;
  score: number;
}

export interface QaStore {
  addHits(hits: readonly NewQaHit[]): Promise<void>;
  /** In `order` (oldest first by default, by id), at most `limit` (default 100, max 10,000). */
  listHits(query?: QaHitQuery): Promise<QaHit[]>;
  summary(groupBy: QaGroupBy, query?: QaSummaryQuery): Promise<QaSummaryRow[]>;
}
