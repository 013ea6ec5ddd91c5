import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { isConnectionError, isUniqueViolation, type PostgresDatabase, type SqlParam } from './postgres-database.ts';

/** One write: a single statement, plain data so it can wait on disk while the database is away. */
export interface PendingWrite {
  /** Writes with the same key (a call id) keep their order; different keys run side by side. */
  key: string;
  sql: string;
  params: SqlParam[];
}

export interface WriteQueueHealth {
  ok: boolean;
  /** Writes waiting for the database to come back. */
  pending: number;
  detail?: string;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

/**
 * Writes to PostgreSQL that survive the database going away. Normally each write runs at once (per-key order).
 * When one fails because the database cannot be reached, it and every later write go to a FIFO that is appended
 * to a journal file (fsync'd) and retried with backoff: calls keep running, their rows reach the database when it
 * is back, and a journal left by a crash is replayed at the next start. A write the database refuses (bad data,
 * constraint) still rejects at once.
 */
export class PostgresWriteQueue {
  private readonly db: PostgresDatabase;
  private readonly journalPath: string;
  private readonly log?: Logger;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly backlog: PendingWrite[] = [];
  private flushing?: Promise<void>;
  private retryMs = FIRST_RETRY_MS;
  private lastError?: string;
  private closed = false;
  private wake?: () => void;

  constructor(db: PostgresDatabase, journalPath: string, log?: Logger) {
    this.db = db;
    this.journalPath = journalPath;
    this.log = log;
  }

  health(): WriteQueueHealth {
    if (this.backlog.length === 0) return { ok: true, pending: 0 };
    return { ok: false, pending: this.backlog.length, detail: `database unreachable (${this.lastError ?? 'unknown error'}); ${this.backlog.length} writes kept` };
  }

  /** Replays a journal left by an earlier run (before anything else writes). */
  async replayJournal(): Promise<number> {
    if (!existsSync(this.journalPath)) return 0;
    const lines = readFileSync(this.journalPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const writes: PendingWrite[] = [];
    for (const line of lines) {
      try {
        writes.push(JSON.parse(line) as PendingWrite);
      } catch {
        // A line cut by the crash that wrote it: that write was never acknowledged to anyone.
        this.log?.warn({ journal: this.journalPath }, 'skipped a torn line in the PostgreSQL write journal');
      }
    }
    this.backlog.push(...writes);
    rmSync(this.journalPath, { force: true });
    this.journalAll();
    await this.flush();
    return writes.length;
  }

  /**
   * Resolves when the write is in the database (with the rows it changed) or safely kept for it (`undefined`);
   * rejects when the database refuses it.
   */
  write(w: PendingWrite): Promise<number | undefined> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    const previous = this.chains.get(w.key) ?? Promise.resolve();
    const next = previous.then(() => this.runOne(w));
    const tail: Promise<void> = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(w.key, tail);
    void tail.then(() => {
      if (this.chains.get(w.key) === tail) this.chains.delete(w.key);
    });
    return next;
  }

  /**
   * Waits (at most `timeoutMs`) until the writes made so far under `key` are in the database, so a read of that key
   * sees them: a call's end kept through an outage is read back as ended, not as the row before it. Costs nothing
   * when nothing of the key is kept. False when some are still kept at the deadline (the database may be back before
   * the backlog's next retry, up to MAX_RETRY_MS later).
   */
  async written(key: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await this.chains.get(key);
    const kept = () => this.backlog.some((w) => w.key === key);
    while (!this.closed && kept() && Date.now() < deadline) await sleep(50);
    return !kept();
  }

  /** Waits until the backlog is written (tests, shutdown). */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all([...this.chains.values()]);
    while (this.backlog.length > 0 && Date.now() < deadline) await sleep(50);
    return this.backlog.length === 0;
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  private async runOne(w: PendingWrite): Promise<number | undefined> {
    if (this.backlog.length > 0) {
      this.keep(w);
      return undefined;
    }
    try {
      const result = await this.db.query(w.sql, w.params);
      return result.rowCount ?? undefined;
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      this.lastError = (err as Error).message;
      this.log?.error({ err: { message: this.lastError } }, 'PostgreSQL unreachable: keeping writes until it is back');
      this.keep(w);
      return undefined;
    }
  }

  private keep(w: PendingWrite): void {
    this.backlog.push(w);
    this.journal(w);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  private async flush(): Promise<void> {
    while (this.backlog.length > 0 && !this.closed) {
      const head = this.backlog[0]!;
      try {
        await this.db.query(head.sql, head.params);
      } catch (err) {
        if (isConnectionError(err)) {
          this.lastError = (err as Error).message;
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, this.retryMs).unref();
          });
          this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
          continue;
        }
        // Written before the connection broke (its acknowledgement was lost): already there.
        if (!isUniqueViolation(err)) {
          this.log?.error({ err, sql: head.sql.slice(0, 80) }, 'a kept write was refused by the database when replayed; dropped');
        }
      }
      this.backlog.shift();
      this.retryMs = FIRST_RETRY_MS;
      if (this.backlog.length === 0) {
        rmSync(this.journalPath, { force: true });
        this.log?.info('PostgreSQL back: kept writes flushed');
      } else if (this.backlog.length % 100 === 0) {
        this.journalAll();
      }
    }
  }

  private journal(w: PendingWrite): void {
    mkdirSync(dirname(this.journalPath), { recursive: true });
    const fd = openSync(this.journalPath, 'a');
    try {
      appendFileSync(fd, `${JSON.stringify(w)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Rewrites the journal with what is still pending (so a long outage does not replay what was flushed). */
  private journalAll(): void {
    if (this.backlog.length === 0) return;
    mkdirSync(dirname(this.journalPath), { recursive: true });
    const tmp = `${this.journalPath}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      appendFileSync(fd, this.backlog.map((w) => JSON.stringify(w)).join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.journalPath);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
