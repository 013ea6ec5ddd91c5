import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  callEventSchema,
  callPatchSchema,
  callRecordSchema,
  describeIssues,
  turnRecordSchema,
} from './record-schemas.ts';
import { runWrite, type SqliteDatabase } from './sqlite-database.ts';
import { StoreError } from './store-error.ts';
import type { CallEvent, CallRecord, CallStatus, CallStore, TurnRecord } from './types.ts';

const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 1000;
export const INTERRUPTED_DISPOSITION = 'interrupted';

/** CallRecord field -> column; the order is the INSERT's column order. */
const CALL_COLUMNS = {
  id: 'id',
  pbx: 'pbx',
  pbxCallId: 'pbx_call_id',
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
} as const satisfies Record<keyof CallRecord, string>;

type CallField = keyof typeof CALL_COLUMNS;
type SqlValue = string | number | null;

interface CallRow {
  id: string;
  pbx: string;
  pbx_call_id: string | null;
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
  variables: string;
}

interface TurnRow {
  call_id: string;
  seq: number;
  caller_text: string;
  input_kind: TurnRecord['inputKind'];
  bot_text: string | null;
  speech_start_ms: number | null;
  speech_end_ms: number | null;
  latency_ms: number | null;
  barge_in: number;
  heard_ms: number | null;
  at: string;
}

interface EventRow {
  call_id: string;
  at: string;
  type: string;
  data: string;
}

/** Calls, turns and events in SQLite. better-sqlite3 is synchronous: each write is one short WAL append. */
export class SqliteCallStore implements CallStore {
  private readonly db: SqliteDatabase;
  private readonly log?: Logger;
  private readonly updateStatements = new Map<string, Database.Statement>();
  private readonly statements: {
    insertCall: Database.Statement;
    getCall: Database.Statement<[string], CallRow>;
    listCalls: Database.Statement<[number], CallRow>;
    listCallsByStatus: Database.Statement<[string, number], CallRow>;
    activeCalls: Database.Statement<[], CallRow>;
    endInterrupted: Database.Statement<[string, string, string]>;
    insertTurn: Database.Statement;
    listTurns: Database.Statement<[string], TurnRow>;
    insertEvent: Database.Statement<[string, string, string, string]>;
    listEvents: Database.Statement<[string], EventRow>;
  };

  constructor(db: SqliteDatabase, log?: Logger) {
    this.db = db;
    this.log = log;
    const callColumns = Object.values(CALL_COLUMNS);
    this.statements = {
      insertCall: this.db.prepare(
        `INSERT INTO calls (${callColumns.join(', ')}) VALUES (${callColumns.map((c) => `@${c}`).join(', ')})`,
      ),
      getCall: this.db.prepare('SELECT * FROM calls WHERE id = ?'),
      listCalls: this.db.prepare('SELECT * FROM calls ORDER BY started_at DESC, rowid DESC LIMIT ?'),
      listCallsByStatus: this.db.prepare('SELECT * FROM calls WHERE status = ? ORDER BY started_at DESC, rowid DESC LIMIT ?'),
      activeCalls: this.db.prepare("SELECT * FROM calls WHERE status = 'active' ORDER BY started_at"),
      endInterrupted: this.db.prepare("UPDATE calls SET status = 'ended', ended_at = ?, disposition = ? WHERE id = ? AND status = 'active'"),
      insertTurn: this.db.prepare(
        `INSERT INTO turns (call_id, seq, caller_text, input_kind, bot_text, speech_start_ms, speech_end_ms, latency_ms, barge_in, heard_ms, at)
         VALUES (@call_id, @seq, @caller_text, @input_kind, @bot_text, @speech_start_ms, @speech_end_ms, @latency_ms, @barge_in, @heard_ms, @at)`,
      ),
      listTurns: this.db.prepare('SELECT * FROM turns WHERE call_id = ? ORDER BY seq'),
      insertEvent: this.db.prepare('INSERT INTO events (call_id, at, type, data) VALUES (?, ?, ?, ?)'),
      listEvents: this.db.prepare('SELECT call_id, at, type, data FROM events WHERE call_id = ? ORDER BY id'),
    };
  }

  async createCall(call: CallRecord): Promise<void> {
    const parsed = callRecordSchema.safeParse(call);
    if (!parsed.success) throw new StoreError(`malformed call record: ${describeIssues(parsed.error)}`, 'createCall');
    const row: Record<string, SqlValue> = {};
    for (const [field, column] of Object.entries(CALL_COLUMNS) as [CallField, string][]) {
      row[column] = toColumn(field, parsed.data[field]);
    }
    runWrite('createCall', () => this.statements.insertCall.run(row), `call ${call.id}`);
  }

  async updateCall(id: string, patch: Partial<Omit<CallRecord, 'id'>>): Promise<void> {
    const parsed = callPatchSchema.safeParse(patch);
    if (!parsed.success) throw new StoreError(`malformed patch for call ${id}: ${describeIssues(parsed.error)}`, 'updateCall');
    const fields = (Object.keys(parsed.data) as CallField[]).filter((field) => parsed.data[field as keyof typeof parsed.data] !== undefined);
    if (fields.length === 0) {
      if (!this.statements.getCall.get(id)) throw new StoreError(`no call ${id}`, 'updateCall');
      return;
    }
    fields.sort();
    const statement = this.updateStatementFor(fields);
    const values = fields.map((field) => toColumn(field, parsed.data[field as keyof typeof parsed.data]));
    const result = runWrite('updateCall', () => statement.run(...values, id), `call ${id}`);
    if (result.changes === 0) throw new StoreError(`no call ${id}`, 'updateCall');
  }

  async getCall(id: string): Promise<CallRecord | undefined> {
    const row = this.statements.getCall.get(id);
    return row ? fromCallRow(row) : undefined;
  }

  async listCalls(opts: { limit?: number; status?: CallStatus } = {}): Promise<CallRecord[]> {
    const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new StoreError(`limit must be an integer 1..${MAX_LIST_LIMIT}, got ${limit}`, 'listCalls');
    }
    if (opts.status !== undefined && opts.status !== 'active' && opts.status !== 'ended') {
      throw new StoreError(`status must be active or ended, got ${String(opts.status)}`, 'listCalls');
    }
    const rows = opts.status ? this.statements.listCallsByStatus.all(opts.status, limit) : this.statements.listCalls.all(limit);
    return rows.map(fromCallRow);
  }

  async addTurn(turn: TurnRecord): Promise<void> {
    const parsed = turnRecordSchema.safeParse(turn);
    if (!parsed.success) throw new StoreError(`malformed turn: ${describeIssues(parsed.error)}`, 'addTurn');
    const t = parsed.data;
    runWrite(
      'addTurn',
      () =>
        this.statements.insertTurn.run({
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
          at: t.at,
        }),
      `turn ${t.seq} of call ${t.callId}`,
    );
  }

  async listTurns(callId: string): Promise<TurnRecord[]> {
    return this.statements.listTurns.all(callId).map(fromTurnRow);
  }

  async addEvent(ev: CallEvent): Promise<void> {
    const parsed = callEventSchema.safeParse(ev);
    if (!parsed.success) throw new StoreError(`malformed event: ${describeIssues(parsed.error)}`, 'addEvent');
    let data: string;
    try {
      data = JSON.stringify(parsed.data.data);
    } catch (err) {
      throw new StoreError(`event ${ev.type} of call ${ev.callId}: data is not JSON-serializable (${(err as Error).message})`, 'addEvent');
    }
    runWrite('addEvent', () => this.statements.insertEvent.run(ev.callId, ev.at, ev.type, data), `event ${ev.type} of call ${ev.callId}`);
  }

  async listEvents(callId: string): Promise<CallEvent[]> {
    return this.statements.listEvents.all(callId).map((row) => ({
      callId: row.call_id,
      at: row.at,
      type: row.type,
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
  }

  async recoverInterruptedCalls(now: Date): Promise<CallRecord[]> {
    const endedAt = now.toISOString();
    const recover = this.db.transaction((): CallRecord[] => {
      const recovered: CallRecord[] = [];
      for (const row of this.statements.activeCalls.all()) {
        this.statements.endInterrupted.run(endedAt, INTERRUPTED_DISPOSITION, row.id);
        this.statements.insertEvent.run(
          row.id,
          endedAt,
          'interrupted',
          JSON.stringify({ reason: 'callpilot restarted while the call was active', previousDisposition: row.disposition ?? null }),
        );
        recovered.push({ ...fromCallRow(row), status: 'ended', endedAt, disposition: INTERRUPTED_DISPOSITION });
      }
      return recovered;
    });
    const recovered = recover();
    if (recovered.length > 0) {
      this.log?.warn({ calls: recovered.map((call) => call.id) }, 'marked calls left active by a previous run as interrupted');
    }
    return recovered;
  }

  private updateStatementFor(fields: CallField[]): Database.Statement {
    const cacheKey = fields.join(',');
    let statement = this.updateStatements.get(cacheKey);
    if (!statement) {
      statement = this.db.prepare(`UPDATE calls SET ${fields.map((f) => `${CALL_COLUMNS[f]} = ?`).join(', ')} WHERE id = ?`);
      this.updateStatements.set(cacheKey, statement);
    }
    return statement;
  }
}

function toColumn(field: CallField, value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (field === 'variables') return JSON.stringify(value);
  return value as string | number;
}

function fromCallRow(row: CallRow): CallRecord {
  const call: CallRecord = {
    id: row.id,
    pbx: row.pbx,
    direction: row.direction,
    lang: row.lang,
    status: row.status,
    startedAt: row.started_at,
    variables: JSON.parse(row.variables) as Record<string, string>,
  };
  if (row.pbx_call_id !== null) call.pbxCallId = row.pbx_call_id;
  if (row.from_number !== null) call.from = row.from_number;
  if (row.to_number !== null) call.to = row.to_number;
  if (row.flow !== null) call.flow = row.flow;
  if (row.answered_at !== null) call.answeredAt = row.answered_at;
  if (row.ended_at !== null) call.endedAt = row.ended_at;
  if (row.disposition !== null) call.disposition = row.disposition;
  if (row.hangup_cause !== null) call.hangupCause = row.hangup_cause;
  if (row.hangup_by !== null) call.hangupBy = row.hangup_by;
  if (row.recording_dir !== null) call.recordingDir = row.recording_dir;
  return call;
}

function fromTurnRow(row: TurnRow): TurnRecord {
  const turn: TurnRecord = {
    callId: row.call_id,
    seq: row.seq,
    callerText: row.caller_text,
    inputKind: row.input_kind,
    bargeIn: row.barge_in === 1,
    at: row.at,
  };
  if (row.bot_text !== null) turn.botText = row.bot_text;
  if (row.speech_start_ms !== null) turn.speechStartMs = row.speech_start_ms;
  if (row.speech_end_ms !== null) turn.speechEndMs = row.speech_end_ms;
  if (row.latency_ms !== null) turn.latencyMs = row.latency_ms;
  if (row.heard_ms !== null) turn.heardMs = row.heard_ms;
  return turn;
}
