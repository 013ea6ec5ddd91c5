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
  type CallQueryDialect,
  type CallRow,
  type EventRow,
  type TurnRow,
} from './call-rows.ts';
import { isConnectionError, isUniqueViolation, type PostgresDatabase } from './postgres-database.ts';
import type { PostgresWriteQueue } from './postgres-write-queue.ts';
import { StoreError } from './store-error.ts';
import type { CallEvent, CallPage, CallQuery, CallRecord, CallStatus, CallStore, TurnRecord } from './types.ts';

const CALL_COLUMN_LIST = Object.values(CALL_COLUMNS);
const INSERT_CALL = `INSERT INTO calls (${CALL_COLUMN_LIST.join(', ')}, node_id) VALUES (${CALL_COLUMN_LIST.map((_, i) => `$${i + 1}`).join(', ')}, $${CALL_COLUMN_LIST.length + 1})`;
const INSERT_TURN = `INSERT INTO turns (call_id, seq, caller_text, input_kind, bot_text, speech_start_ms, speech_end_ms, latency_ms, barge_in, heard_ms, continues_seq, intent, confidence, slots, emotion, emotion_score, at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`;
const CALL_FIELDS = `${CALL_COLUMN_LIST.join(', ')}`;
const POSTGRES_CALL_QUERY: CallQueryDialect = { param: (n) => `$${n}`, keyColumn: 'seq', campaignExpr: "variables->>'campaign_id'", columns: CALL_FIELDS };

/**
 * Calls, turns and events in PostgreSQL: the SQLite store's semantics (the shared contract tests hold both to
 * them). Writes go through the write queue, so a call outlives a database outage; reads need the database.
 */
/** How long a call's read waits for that call's kept writes to reach the database before it reads anyway. */
const READ_AFTER_WRITE_WAIT_MS = 10_000;

export class PostgresCallStore implements CallStore {
  private readonly db: PostgresDatabase;
  private readonly writes: PostgresWriteQueue;
  private readonly nodeId: string;
  private readonly log?: Logger;

  constructor(db: PostgresDatabase, writes: PostgresWriteQueue, nodeId: string, log?: Logger) {
    this.db = db;
    this.writes = writes;
    this.nodeId = nodeId;
    this.log = log;
  }

  async createCall(call: CallRecord): Promise<void> {
    const row = callRow(call);
    const params = [...CALL_COLUMN_LIST.map((c) => row[c] ?? null), this.nodeId];
    await this.write('createCall', `call ${call.id}`, { key: call.id, sql: INSERT_CALL, params });
  }

  async updateCall(id: string, patch: Partial<Omit<CallRecord, 'id'>>): Promise<void> {
    const { fields, values } = callPatch(id, patch);
    if (fields.length === 0) {
      if (!(await this.getCall(id))) throw new StoreError(`no call ${id}`, 'updateCall');
      return;
    }
    const set = fields.map((f, i) => `${CALL_COLUMNS[f]} = $${i + 1}`).join(', ');
    const changed = await this.write('updateCall', `call ${id}`, { key: id, sql: `UPDATE calls SET ${set} WHERE id = $${fields.length + 1}`, params: [...values, id] });
    // `undefined`: kept for a database that is away, so it cannot say yet; the id came from a call we started.
    if (changed === 0) throw new StoreError(`no call ${id}`, 'updateCall');
  }

  async getCall(id: string): Promise<CallRecord | undefined> {
    // Read-your-writes for the call's own row (an outcome read right after an outage). Never the row without them: a
    // database back before the backlog's next retry would give the call as it was before its end (an answered call's
    // outcome read as the bare `answered`); the caller reads again later (the outbound service retries with backoff).
    if (!(await this.writes.written(id, READ_AFTER_WRITE_WAIT_MS))) {
      throw new StoreError(`call ${id} has writes kept for the database that are not in it yet`, 'getCall');
    }
    const { rows } = await this.read('getCall', () => this.db.query<CallRow>(`SELECT ${CALL_FIELDS} FROM calls WHERE id = $1`, [id]));
    return rows[0] ? fromCallRow(rows[0]) : undefined;
  }

  async listCalls(opts: { limit?: number; status?: CallStatus } = {}): Promise<CallRecord[]> {
    return (await this.findCalls(opts)).calls;
  }

  async findCalls(query: CallQuery): Promise<CallPage> {
    const { sql, params, limit } = callQuerySql(query, POSTGRES_CALL_QUERY);
    const { rows } = await this.read('findCalls', () => this.db.query<CallRow & { row_key: string }>(sql, params));
    return callPageOf(rows, limit);
  }

  async addTurn(turn: TurnRecord): Promise<void> {
    const t = turnRow(turn);
    const params = [t.call_id, t.seq, t.caller_text, t.input_kind, t.bot_text, t.speech_start_ms, t.speech_end_ms, t.latency_ms, t.barge_in === 1, t.heard_ms, t.continues_seq, t.intent, t.confidence, t.slots, t.emotion, t.emotion_score, t.at];
    await this.write('addTurn', `turn ${t.seq} of call ${t.call_id}`, { key: t.call_id, sql: INSERT_TURN, params });
  }

  async listTurns(callId: string): Promise<TurnRecord[]> {
    const { rows } = await this.read('listTurns', () => this.db.query<TurnRow>('SELECT * FROM turns WHERE call_id = $1 ORDER BY seq', [callId]));
    return rows.map(fromTurnRow);
  }

  async addEvent(ev: CallEvent): Promise<void> {
    const data = eventData(ev);
    await this.write('addEvent', `event ${ev.type} of call ${ev.callId}`, {
      key: ev.callId,
      sql: 'INSERT INTO events (call_id, at, type, data) VALUES ($1, $2, $3, $4::jsonb)',
      params: [ev.callId, ev.at, ev.type, data],
    });
  }

  async listEvents(callId: string): Promise<CallEvent[]> {
    const { rows } = await this.read('listEvents', () =>
      this.db.query<EventRow>('SELECT call_id, at, type, data FROM events WHERE call_id = $1 ORDER BY id', [callId]),
    );
    return rows.map(fromEventRow);
  }

  /** Only this node's calls: other nodes' active calls are theirs (or their survivors') to close. */
  async recoverInterruptedCalls(now: Date): Promise<CallRecord[]> {
    return this.recoverCallsOfNode(this.nodeId, now);
  }

  async recoverCallsOfNode(nodeId: string, now: Date): Promise<CallRecord[]> {
    const endedAt = now.toISOString();
    const recovered = await this.read('recoverInterruptedCalls', () =>
      this.db.transaction(async (client) => {
        const { rows } = await client.query<CallRow>(
          `SELECT ${CALL_FIELDS} FROM calls WHERE status = 'active' AND node_id = $1 ORDER BY started_at FOR UPDATE`,
          [nodeId],
        );
        for (const row of rows) {
          await client.query("UPDATE calls SET status = 'ended', ended_at = $1, disposition = $2 WHERE id = $3", [endedAt, INTERRUPTED_DISPOSITION, row.id]);
          await client.query("INSERT INTO events (call_id, at, type, data) VALUES ($1, $2, 'interrupted', $3::jsonb)", [
            row.id,
            endedAt,
            interruptedEventData(row.disposition ?? null),
          ]);
        }
        return rows.map((row) => ({ ...fromCallRow(row), status: 'ended' as const, endedAt, disposition: INTERRUPTED_DISPOSITION }));
      }),
    );
    if (recovered.length > 0) this.log?.warn({ node: nodeId, calls: recovered.map((c) => c.id) }, 'marked calls left active by a stopped node as interrupted');
    return recovered;
  }

  private async write(operation: string, what: string, w: Parameters<PostgresWriteQueue['write']>[0]): Promise<number | undefined> {
    try {
      return await this.writes.write(w);
    } catch (err) {
      throw translate(err, operation, what);
    }
  }

  private async read<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isConnectionError(err)) throw new StoreError(`database unreachable: ${(err as Error).message}`, operation, { cause: err });
      throw translate(err, operation, operation);
    }
  }
}

/** The database's refusals, in the words the SQLite store uses (the contract tests check both). */
function translate(err: unknown, operation: string, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code;
  if (isUniqueViolation(err)) return new StoreError(`${what} already exists`, operation, { cause: err });
  if (code === '23503') return new StoreError(`${what}: no such call`, operation, { cause: err });
  return new StoreError(`${what}: ${(err as Error).message}`, operation, { cause: err });
}
