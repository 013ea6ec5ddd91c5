import pg from 'pg';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';
import { StoreError } from './store-error.ts';

export interface PostgresConnectionOptions {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** `disable`, `require` (encrypted, certificate not checked) or `verify-full` (checked against `caFile` or the system CAs). */
  sslMode: 'disable' | 'require' | 'verify-full';
  caFile?: string;
}

/** One key for every callpilot node: schema migrations run on one node at a time. */
const MIGRATION_LOCK_KEY = 0x63616c6c; // 'call'

export type SqlParam = string | number | boolean | null;

/**
 * Errors that say the database could not be reached (as opposed to a statement it refused): the write is kept and
 * retried instead of failing the call.
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03'].includes(code)) return true;
  if (code.startsWith('08')) return true;
  return /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|not queryable/i.test(e?.message ?? '');
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}

/** A pool on the configured database, with the schema migrated. */
export class PostgresDatabase {
  readonly pool: pg.Pool;
  private readonly log?: Logger;
  private readonly safeUrl: string;

  constructor(opts: PostgresConnectionOptions, log?: Logger) {
    this.log = log;
    this.safeUrl = redactUrl(opts.url);
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.connectTimeoutMs,
      idleTimeoutMillis: opts.idleTimeoutMs,
      ssl: sslOptions(opts),
    });
    // An idle client whose server went away emits here; without a listener that error would end the process.
    this.pool.on('error', (err) => this.log?.warn({ err: { message: err.message }, db: this.safeUrl }, 'idle PostgreSQL connection lost'));
  }

  /** Where the store points, without its password (logs, readyz). */
  get where(): string {
    return this.safeUrl;
  }

  async migrate(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new StoreError(`cannot connect to PostgreSQL at ${this.safeUrl}: ${(err as Error).message}`, 'open', { cause: err });
    }
    await this.holding(client, async () => {
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
        const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
        const current = rows[0]?.v ?? 0;
        if (current > POSTGRES_MIGRATIONS.length) {
          throw new StoreError(`database ${this.safeUrl} has schema version ${current}, newer than this callpilot knows (${POSTGRES_MIGRATIONS.length})`, 'open');
        }
        for (let version = current; version < POSTGRES_MIGRATIONS.length; version++) {
          await client.query('BEGIN');
          try {
            await client.query(POSTGRES_MIGRATIONS[version] as string);
            await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version + 1]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw new StoreError(`migrating ${this.safeUrl} to version ${version + 1} failed: ${(err as Error).message}`, 'open', { cause: err });
          }
          this.log?.info({ db: this.safeUrl, version: version + 1 }, 'store schema migrated');
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      }
    });
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: readonly SqlParam[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, params as SqlParam[]);
  }

  /** Runs `work` in one transaction on one connection. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    return this.holding(client, async () => {
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Runs `work` on a client checked out of the pool, then gives it back. The pool hears a client's connection errors
   * only while it is idle: a connection lost while checked out (the database restarted or the network cut mid-
   * transaction) emits 'error' on the client itself, which unheard would end the process. Here it fails `work`'s
   * statements (pg rejects them) and the client is given back broken, so the pool drops it instead of reusing it.
   */
  private async holding<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
    let lost: Error | undefined;
    const onLost = (err: Error): void => {
      lost = err;
      this.log?.warn({ err: { message: err.message }, db: this.safeUrl }, 'PostgreSQL connection lost while in use');
    };
    client.on('error', onLost);
    try {
      return await work();
    } finally {
      client.off('error', onLost);
      client.release(lost);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function sslOptions(opts: PostgresConnectionOptions): pg.PoolConfig['ssl'] {
  if (opts.sslMode === 'disable') return undefined;
  if (opts.sslMode === 'require') return { rejectUnauthorized: false };
  return { rejectUnauthorized: true, ca: opts.caFile ? readFileSync(opts.caFile, 'utf8') : undefined };
}

/** postgres://user:secret@host/db -> postgres://user:***@host/db */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}
