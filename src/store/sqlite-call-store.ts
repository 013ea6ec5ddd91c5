import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  CALL_COLUMNS,
  INTERRUPTED_DISPOSITION,
  callPageOf,
  callPatch,
  callQuerySql,
  callRow,
  eventData,
  fromCallRow,
  fromEventRow,
  fromTurnRow,
  interruptedEventData,
  turnRow,
  type CallField,
  type CallQueryDialect,
  type CallRow,
  type SqlValue,
  type EventRow,
  type TurnRow,
} from './call-rows.ts';
import { runWrite, type SqliteDatabase } from './sqlite-database.ts';
import { StoreError } from './store-error.ts';
import type { CallEvent, CallPage, CallQuery, CallRecord, CallStatus, CallStore, TurnRecord } from './types.ts';

const SQLITE_CALL_QUERY: CallQueryDialect = { param: () => '?', keyColumn: 'rowid', campaignExpr: "json_extract(variables, '$.campaign_id')", columns: '*' };

/** Calls, turns and events in SQLite. better-sqlite3 is synchronous: each write is one short WAL append. */
export class SqliteCallStore implements CallStore {
  private readonly db: SqliteDatabase;
  private readonly log?: Logger;
  private readonly updateStatements = new Map<string, Database.Statement>();
  private readonly statements: {
    insertCall: Database.Statement;
    getCall: Database.Statement<[string], CallRow>;
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
      activeCalls: this.db.prepare("SELECT * FROM calls WHERE status = 'active' ORDER BY started_at"),
      endInterrupted: this.db.prepare("UPDATE calls SET status = 'ended', ended_at = ?, disposition = ? WHERE id = ? AND status = 'active'"),
      insertTurn: this.db.prepare(
        `INSERT INTO turns (call_id, seq, caller_text, input_kind, bot_text, speech_start_ms, speech_end_ms, latency_ms, barge_in, heard_ms, continues_seq, intent, confidence, slots, emotion, emotion_score, at)
         VALUES (@call_id, @seq, @caller_text, @input_kind, @bot_text, @speech_start_ms, @speech_end_ms, @latency_ms, @barge_in, @heard_ms, @continues_seq, @intent, @confidence, @slots, @emotion, @emotion_score, @at)`,
      ),
      listTurns: this.db.prepare('SELECT * FROM turns WHERE call_id = ? ORDER BY seq'),
      insertEvent: this.db.prepare('INSERT INTO events (call_id, at, type, data) VALUES (?, ?, ?, ?)'),
      listEvents: this.db.prepare('SELECT call_id, at, type, data FROM events WHERE call_id = ? ORDER BY id'),
    };
  }

  async createCall(call: CallRecord): Promise<void> {
    const row = callRow(call);
    runWrite('createCall', () => this.statements.insertCall.run(row), `call ${call.id}`);
  }

  async updateCall(id: string, patch: Partial<Omit<CallRecord, 'id'>>): Promise<void> {
    const { fields, values } = callPatch(id, patch);
    if (fields.length === 0) {
      if (!this.statements.getCall.get(id)) throw new StoreError(`no call ${id}`, 'updateCall');
      return;
    }
    const statement = this.updateStatementFor(fields);
    const result = runWrite('updateCall', () => statement.run(...values, id), `call ${id}`);
    if (result.changes === 0) throw new StoreError(`no call ${id}`, 'updateCall');
  }

  async getCall(id: string): Promise<CallRecord | undefined> {
    const row = this.statements.getCall.get(id);
    return row ? fromCallRow(row) : undefined;
  }

  async listCalls(opts: { limit?: number; status?: CallStatus } = {}): Promise<CallRecord[]> {
    return (await this.findCalls(opts)).calls;
  }

  async findCalls(query: CallQuery): Promise<CallPage> {
    const { sql, params, limit } = callQuerySql(query, SQLITE_CALL_QUERY);
    // One statement per filter combination (a bounded set), kept by the database's per-SQL cache.
    const rows = this.db.prepare<SqlValue[], CallRow & { row_key: number }>(sql).all(...params);
    return callPageOf(rows, limit);
  }

  async addTurn(turn: TurnRecord): Promise<void> {
    const row = turnRow(turn);
    runWrite('addTurn', () => this.statements.insertTurn.run(row), `turn ${row.seq} of call ${row.call_id}`);
  }

  async listTurns(callId: string): Promise<TurnRecord[]> {
    return this.statements.listTurns.all(callId).map(fromTurnRow);
  }

  async addEvent(ev: CallEvent): Promise<void> {
    const data = eventData(ev);
    runWrite('addEvent', () => this.statements.insertEvent.run(ev.callId, ev.at, ev.type, data), `event ${ev.type} of call ${ev.callId}`);
  }

  async listEvents(callId: string): Promise<CallEvent[]> {
    return this.statements.listEvents.all(callId).map(fromEventRow);
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
          interruptedEventData(row.disposition ?? null),
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

  async recoverCallsOfNode(_nodeId: string, _now: Date): Promise<CallRecord[]> {
    // One SQLite file serves one node: there are no other nodes' calls here.
    return [];
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
