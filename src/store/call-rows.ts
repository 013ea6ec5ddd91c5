import { callEventSchema, callPatchSchema, callRecordSchema, describeIssues, turnRecordSchema } from './record-schemas.ts';
import { StoreError, StoreQueryError } from './store-error.ts';
import type { CallEvent, CallPage, CallQuery, CallRecord, CallStatus, TurnEmotion, TurnRecord } from './types.ts';

// Records <-> rows for every backend: the tables have the same columns on SQLite and PostgreSQL, so validation and
// mapping live here once and each backend only says how to run its SQL.

const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 1000;
export const INTERRUPTED_DISPOSITION = 'interrupted';

/** CallRecord field -> column; the order is the INSERT's column order. */
export const CALL_COLUMNS = {
  id: 'id',
  pbx: 'pbx',
  pbxCallId: 'pbx_call_id',
  externalId: 'external_id',
  direction: 'direction',
  from: 'from_number',
  to: 'to_number',
  flow: 'flow',
  lang: 'lang',
  status: 'status',
  startedAt: 'started_at',
  answeredAt: 'answered_at',
  endedAt: 'ended_at',
  disposition: 'disposition',
  hangupCause: 'hangup_cause',
  hangupBy: 'hangup_by',
  recordingDir: 'recording_dir',
  variables: 'variables',
  progress: 'progress',
  amd: 'amd',
} as const satisfies Record<keyof CallRecord, string>;

export type CallField = keyof typeof CALL_COLUMNS;
export type SqlValue = string | number | null;

export interface CallRow {
  id: string;
  pbx: string;
  pbx_call_id: string | null;
  external_id: string | null;
  direction: 'inbound' | 'outbound';
  from_number: string | null;
  to_number: string | null;
  flow: string | null;
  lang: string;
  status: CallStatus;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  disposition: string | null;
  hangup_cause: number | null;
  hangup_by: string | null;
  recording_dir: string | null;
  /** JSON text on SQLite; PostgreSQL's jsonb arrives parsed. */
  variables: string | Record<string, string>;
  /** Call-progress and AMD verdicts: JSON text on SQLite, parsed jsonb on PostgreSQL. */
  progress: string | NonNullable<CallRecord['progress']> | null;
  amd: string | NonNullable<CallRecord['amd']> | null;
}

export interface TurnRow {
  call_id: string;
  seq: number;
  caller_text: string;
  input_kind: TurnRecord['inputKind'];
  bot_text: string | null;
  speech_start_ms: number | null;
  speech_end_ms: number | null;
  latency_ms: number | null;
  /** 0/1 on SQLite, boolean on PostgreSQL. */
  barge_in: number | boolean;
  heard_ms: number | null;
  continues_seq: number | null;
  intent: string | null;
  confidence: number | null;
  /** JSON text on SQLite, parsed on PostgreSQL. */
  slots: string | Record<string, string> | null;
  emotion: TurnEmotion['label'] | null;
  emotion_score: number | null;
  at: string;
}

export interface EventRow {
  call_id: string;
  at: string;
  type: string;
  data: string | Record<string, unknown>;
}

/** The column values of a validated call record, keyed by column name. */
export function callRow(call: CallRecord): Record<string, SqlValue> {
  const parsed = callRecordSchema.safeParse(call);
  if (!parsed.success) throw new StoreError(`malformed call record: ${describeIssues(parsed.error)}`, 'createCall');
  const row: Record<string, SqlValue> = {};
  for (const [field, column] of Object.entries(CALL_COLUMNS) as [CallField, string][]) {
    row[column] = toColumn(field, parsed.data[field]);
  }
  return row;
}

/** The fields a validated patch sets (sorted, so equal shapes share one prepared statement) and their values. */
export function callPatch(id: string, patch: Partial<Omit<CallRecord, 'id'>>): { fields: CallField[]; values: SqlValue[] } {
  const parsed = callPatchSchema.safeParse(patch);
  if (!parsed.success) throw new StoreError(`malformed patch for call ${id}: ${describeIssues(parsed.error)}`, 'updateCall');
  const data = parsed.data as Record<string, unknown>;
  const fields = (Object.keys(data) as CallField[]).filter((field) => data[field] !== undefined).sort();
  return { fields, values: fields.map((field) => toColumn(field, data[field])) };
}

export function turnRow(turn: TurnRecord): TurnRow & { barge_in: number; slots: string | null } {
  const parsed = turnRecordSchema.safeParse(turn);
  if (!parsed.success) throw new StoreError(`malformed turn: ${describeIssues(parsed.error)}`, 'addTurn');
  const t = parsed.data;
  return {
    call_id: t.callId,
    seq: t.seq,
    caller_text: t.callerText,
    input_kind: t.inputKind,
    bot_text: t.botText ?? null,
    speech_start_ms: t.speechStartMs ?? null,
    speech_end_ms: t.speechEndMs ?? null,
    latency_ms: t.latencyMs ?? null,
    barge_in: t.bargeIn ? 1 : 0,
    heard_ms: t.heardMs ?? null,
    continues_seq: t.continuesSeq ?? null,
    intent: t.intent ?? null,
    confidence: t.confidence ?? null,
    slots: t.slots ? JSON.stringify(t.slots) : null,
    emotion: t.emotion?.label ?? null,
    emotion_score: t.emotion?.score ?? null,
    at: t.at,
  };
}

/** The event's data as JSON text, after validation. */
export function eventData(ev: CallEvent): string {
  const parsed = callEventSchema.safeParse(ev);
  if (!parsed.success) throw new StoreError(`malformed event: ${describeIssues(parsed.error)}`, 'addEvent');
  try {
    return JSON.stringify(parsed.data.data);
  } catch (err) {
    throw new StoreError(`event ${ev.type} of call ${ev.callId}: data is not JSON-serializable (${(err as Error).message})`, 'addEvent');
  }
}

export function listOptions(opts: { limit?: number; status?: CallStatus }): { limit: number; status?: CallStatus } {
  const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new StoreError(`limit must be an integer 1..${MAX_LIST_LIMIT}, got ${limit}`, 'listCalls');
  }
  if (opts.status !== undefined && opts.status !== 'active' && opts.status !== 'ended') {
    throw new StoreError(`status must be active or ended, got ${String(opts.status)}`, 'listCalls');
  }
  return { limit, status: opts.status };
}

function toColumn(field: CallField, value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (field === 'variables' || field === 'progress' || field === 'amd') return JSON.stringify(value);
  return value as string | number;
}

const parseJson = <T>(value: string | T): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

export function fromCallRow(row: CallRow): CallRecord {
  const call: CallRecord = {
    id: row.id,
    pbx: row.pbx,
    direction: row.direction,
    lang: row.lang,
    status: row.status,
    startedAt: row.started_at,
    variables: parseJson<Record<string, string>>(row.variables),
  };
  if (row.pbx_call_id !== null) call.pbxCallId = row.pbx_call_id;
  if (row.external_id !== null && row.external_id !== undefined) call.externalId = row.external_id;
  if (row.from_number !== null) call.from = row.from_number;
  if (row.to_number !== null) call.to = row.to_number;
  if (row.flow !== null) call.flow = row.flow;
  if (row.answered_at !== null) call.answeredAt = row.answered_at;
  if (row.ended_at !== null) call.endedAt = row.ended_at;
  if (row.disposition !== null) call.disposition = row.disposition;
  if (row.hangup_cause !== null) call.hangupCause = row.hangup_cause;
  if (row.hangup_by !== null) call.hangupBy = row.hangup_by;
  if (row.recording_dir !== null) call.recordingDir = row.recording_dir;
  if (row.progress !== null && row.progress !== undefined) call.progress = parseJson<NonNullable<CallRecord['progress']>>(row.progress);
  if (row.amd !== null && row.amd !== undefined) call.amd = parseJson<NonNullable<CallRecord['amd']>>(row.amd);
  return call;
}

export function fromTurnRow(row: TurnRow): TurnRecord {
  const turn: TurnRecord = {
    callId: row.call_id,
    seq: row.seq,
    callerText: row.caller_text,
    inputKind: row.input_kind,
    bargeIn: row.barge_in === 1 || row.barge_in === true,
    at: row.at,
  };
  if (row.bot_text !== null) turn.botText = row.bot_text;
  if (row.speech_start_ms !== null) turn.speechStartMs = row.speech_start_ms;
  if (row.speech_end_ms !== null) turn.speechEndMs = row.speech_end_ms;
  if (row.latency_ms !== null) turn.latencyMs = row.latency_ms;
  if (row.heard_ms !== null) turn.heardMs = row.heard_ms;
  if (row.continues_seq !== null && row.continues_seq !== undefined) turn.continuesSeq = row.continues_seq;
  if (row.intent !== null && row.intent !== undefined) turn.intent = row.intent;
  if (row.confidence !== null && row.confidence !== undefined) turn.confidence = row.confidence;
  if (row.slots !== null && row.slots !== undefined) turn.slots = parseJson<Record<string, string>>(row.slots);
  if (row.emotion !== null && row.emotion !== undefined) turn.emotion = { label: row.emotion, score: row.emotion_score ?? 0 };
  return turn;
}

export function fromEventRow(row: EventRow): CallEvent {
  return { callId: row.call_id, at: row.at, type: row.type, data: parseJson<Record<string, unknown>>(row.data) };
}

export function interruptedEventData(previousDisposition: string | null): string {
  return JSON.stringify({ reason: 'callpilot restarted while the call was active', previousDisposition });
}

/** Where a page of calls ended: the last call's start and its insertion key (SQLite rowid, PostgreSQL seq). */
interface CallCursor {
  startedAt: string;
  key: number;
}

/** A call list cursor is opaque to clients: base64url of the position, refused with a StoreError when altered. */
export function encodeCallCursor(cursor: CallCursor): string {
  return Buffer.from(JSON.stringify([cursor.startedAt, cursor.key])).toString('base64url');
}

function decodeCallCursor(text: string): CallCursor {
  const bad = (): never => {
    throw new StoreQueryError('cursor is not one this server handed out', 'findCalls', 'cursor');
  };
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return bad();
  }
  if (!Array.isArray(value) || value.length !== 2) return bad();
  const [startedAt, key] = value as [unknown, unknown];
  if (typeof startedAt !== 'string' || Number.isNaN(Date.parse(startedAt)) || !Number.isSafeInteger(key) || (key as number) < 0) return bad();
  return { startedAt, key: key as number };
}

/** How a backend writes what differs: placeholders, the insertion-order column, a JSON variable. */
export interface CallQueryDialect {
  /** The n-th (1-based) parameter: `?` or `$n`. */
  param(n: number): string;
  /** Insertion order within a millisecond: `rowid` or `seq`. */
  keyColumn: string;
  /** The expression reading the `campaign_id` variable. */
  campaignExpr: string;
  /** What to select besides the key (`*` or the column list). */
  columns: string;
}

/**
 * The one SQL for call lists on every backend: filters, newest first with insertion order breaking ties, and a
 * keyset cursor (so a page never repeats or skips a call while new ones arrive). Reads one row more than the page
 * to know whether another page follows.
 */
export function callQuerySql(query: CallQuery, d: CallQueryDialect): { sql: string; params: SqlValue[]; limit: number } {
  const { limit, status } = listOptions(query);
  const where: string[] = [];
  const params: SqlValue[] = [];
  const p = (value: SqlValue): string => {
    params.push(value);
    return d.param(params.length);
  };
  if (status) where.push(`status = ${p(status)}`);
  if (query.since !== undefined) where.push(`started_at >= ${p(isoBound(query.since, 'since'))}`);
  if (query.until !== undefined) where.push(`started_at < ${p(isoBound(query.until, 'until'))}`);
  if (query.flow !== undefined) where.push(`flow = ${p(query.flow)}`);
  if (query.disposition !== undefined) where.push(`disposition = ${p(query.disposition)}`);
  if (query.direction !== undefined) where.push(`direction = ${p(query.direction)}`);
  if (query.campaign !== undefined) where.push(`${d.campaignExpr} = ${p(query.campaign)}`);
  if (query.numberSuffix !== undefined) {
    if (!/^\d{1,20}$/.test(query.numberSuffix)) throw new StoreQueryError('numberSuffix must be 1-20 digits', 'findCalls', 'number');
    const like = `%${query.numberSuffix}`;
    where.push(`(from_number LIKE ${p(like)} OR to_number LIKE ${p(like)})`);
  }
  if (query.after !== undefined) {
    const cursor = decodeCallCursor(query.after);
    where.push(`(started_at < ${p(cursor.startedAt)} OR (started_at = ${p(cursor.startedAt)} AND ${d.keyColumn} < ${p(cursor.key)}))`);
  }
  const sql =
    `SELECT ${d.columns}, ${d.keyColumn} AS row_key FROM calls` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY started_at DESC, ${d.keyColumn} DESC LIMIT ${p(limit + 1)}`;
  return { sql, params, limit };
}

/** The page from the rows `callQuerySql` read (one more than the page when another follows). */
export function callPageOf(rows: (CallRow & { row_key: number | string })[], limit: number): CallPage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const calls = page.map(fromCallRow);
  return rows.length > limit && last ? { calls, next: encodeCallCursor({ startedAt: last.started_at, key: Number(last.row_key) }) } : { calls };
}

function isoBound(value: string, name: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new StoreQueryError(`${name} must be an ISO 8601 time, got ${value}`, 'findCalls', name);
  return new Date(ms).toISOString();
}
