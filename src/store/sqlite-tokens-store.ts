import type Database from 'better-sqlite3';
import { describeIssues } from './record-schemas.ts';
import { fromTokenRow, tokenRecordSchema, type TokenRow } from './token-rows.ts';
import { runWrite, type SqliteDatabase } from './sqlite-database.ts';
import { StoreError } from './store-error.ts';
import type { ApiTokenRecord, SessionRecord, TokenStore } from './tokens-types.ts';

interface SessionRow {
  id_hash: string;
  token_id: string;
  data: string;
  expires_at: string;
  created_at: string;
}

/** API tokens, console sessions and server secrets in SQLite. */
export class SqliteTokenStore implements TokenStore {
  private readonly s: {
    insertToken: Database.Statement;
    getToken: Database.Statement<[string], TokenRow>;
    byHash: Database.Statement<[string], TokenRow>;
    listTokens: Database.Statement<[], TokenRow>;
    revoke: Database.Statement<[string, string]>;
    deleteTokenSessions: Database.Statement<[string]>;
    touch: Database.Statement<[string, string]>;
    countUsable: Database.Statement<[string], { n: number }>;
    countUsableRole: Database.Statement<[string, string], { n: number }>;
    putSession: Database.Statement;
    getSession: Database.Statement<[string], SessionRow>;
    deleteSession: Database.Statement<[string]>;
    deleteExpired: Database.Statement<[string]>;
    getSecret: Database.Statement<[string], { value: string }>;
    insertSecret: Database.Statement<[string, string, string]>;
  };

  constructor(private readonly db: SqliteDatabase) {
    this.s = {
      insertToken: db.prepare(
        `INSERT INTO api_tokens (id, name, role, grants, secret_hash, created_at, expires_at, revoked_at, last_used_at, created_by)
         VALUES (@id, @name, @role, @grants, @secret_hash, @created_at, @expires_at, @revoked_at, @last_used_at, @created_by)`,
      ),
      getToken: db.prepare('SELECT * FROM api_tokens WHERE id = ?'),
      byHash: db.prepare('SELECT * FROM api_tokens WHERE secret_hash = ?'),
      listTokens: db.prepare('SELECT * FROM api_tokens ORDER BY created_at DESC, rowid DESC'),
      revoke: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      deleteTokenSessions: db.prepare('DELETE FROM sessions WHERE token_id = ?'),
      touch: db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
      countUsable: db.prepare('SELECT count(*) AS n FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)'),
      countUsableRole: db.prepare(
        'SELECT count(*) AS n FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND role = ?',
      ),
      putSession: db.prepare(
        `INSERT INTO sessions (id_hash, token_id, data, expires_at, created_at) VALUES (@id_hash, @token_id, @data, @expires_at, @created_at)
         ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
      ),
      getSession: db.prepare('SELECT * FROM sessions WHERE id_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
      deleteExpired: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
      getSecret: db.prepare('SELECT value FROM server_secrets WHERE name = ?'),
      insertSecret: db.prepare('INSERT OR IGNORE INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)'),
    };
  }

  async createToken(token: ApiTokenRecord): Promise<void> {
    const parsed = tokenRecordSchema.safeParse(token);
    if (!parsed.success) throw new StoreError(`malformed token record: ${describeIssues(parsed.error)}`, 'createToken');
    const t = parsed.data;
    runWrite(
      'createToken',
      () =>
        this.s.insertToken.run({
          id: t.id,
          name: t.name,
          role: t.role,
          grants: JSON.stringify(t.grants),
          secret_hash: t.secretHash,
          created_at: t.createdAt,
          expires_at: t.expiresAt ?? null,
          revoked_at: t.revokedAt ?? null,
          last_used_at: t.lastUsedAt ?? null,
          created_by: t.createdBy ?? null,
        }),
      `token ${t.id}`,
    );
  }

  async getToken(id: string): Promise<ApiTokenRecord | undefined> {
    const row = this.s.getToken.get(id);
    return row ? fromTokenRow(row) : undefined;
  }

  async findTokenBySecretHash(secretHash: string): Promise<ApiTokenRecord | undefined> {
    const row = this.s.byHash.get(secretHash);
    return row ? fromTokenRow(row) : undefined;
  }

  async listTokens(): Promise<ApiTokenRecord[]> {
    return this.s.listTokens.all().map(fromTokenRow);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    const revoke = this.db.transaction((): boolean => {
      const changed = this.s.revoke.run(at, id).changes > 0;
      if (changed) this.s.deleteTokenSessions.run(id);
      return changed;
    });
    return runWrite('revokeToken', revoke, `token ${id}`);
  }

  async touchToken(id: string, at: string): Promise<void> {
    runWrite('touchToken', () => this.s.touch.run(at, id), `token ${id}`);
  }

  async countUsableTokens(now: string, role?: string): Promise<number> {
    return (role === undefined ? this.s.countUsable.get(now) : this.s.countUsableRole.get(now, role))?.n ?? 0;
  }

  async putSession(session: SessionRecord): Promise<void> {
    runWrite(
      'putSession',
      () =>
        this.s.putSession.run({
          id_hash: session.idHash,
          token_id: session.tokenId,
          data: session.data,
          expires_at: session.expiresAt,
          created_at: session.createdAt,
        }),
      `session of token ${session.tokenId}`,
      'token',
    );
  }

  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const row = this.s.getSession.get(idHash);
    return row
      ? { idHash: row.id_hash, tokenId: row.token_id, data: row.data, expiresAt: row.expires_at, createdAt: row.created_at }
      : undefined;
  }

  async deleteSession(idHash: string): Promise<void> {
    runWrite('deleteSession', () => this.s.deleteSession.run(idHash), 'session');
  }

  async deleteExpiredSessions(now: string): Promise<number> {
    return runWrite('deleteExpiredSessions', () => this.s.deleteExpired.run(now), 'sessions').changes;
  }

  async secret(name: string, create: () => string): Promise<string> {
    const existing = this.s.getSecret.get(name);
    if (existing) return existing.value;
    // INSERT OR IGNORE then read back: two processes racing on one database agree on the first value written.
    runWrite('secret', () => this.s.insertSecret.run(name, create(), new Date().toISOString()), `secret ${name}`);
    const stored = this.s.getSecret.get(name);
    if (!stored) throw new StoreError(`secret ${name} was not stored`, 'secret');
    return stored.value;
  }
}
