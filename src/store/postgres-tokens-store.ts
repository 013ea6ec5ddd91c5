import { isUniqueViolation, type PostgresDatabase } from './postgres-database.ts';
import { describeIssues } from './record-schemas.ts';
import { StoreError } from './store-error.ts';
import { fromTokenRow, tokenRecordSchema, type TokenRow } from './token-rows.ts';
import type { ApiTokenRecord, SessionRecord, TokenStore } from './tokens-types.ts';

interface PgTokenRow extends Omit<TokenRow, 'grants'> {
  grants: string[];
}

/**
 * Tokens, sessions and secrets on PostgreSQL. Written straight to the database, never through the write journal:
 * a sign-in or revocation that cannot be stored must fail now, not land later.
 */
export class PostgresTokenStore implements TokenStore {
  constructor(private readonly db: PostgresDatabase) {}

  async createToken(token: ApiTokenRecord): Promise<void> {
    const parsed = tokenRecordSchema.safeParse(token);
    if (!parsed.success) throw new StoreError(`malformed token record: ${describeIssues(parsed.error)}`, 'createToken');
    const t = parsed.data;
    try {
      await this.db.query(
        `INSERT INTO api_tokens (id, name, role, grants, secret_hash, created_at, expires_at, revoked_at, last_used_at, created_by)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10)`,
        [t.id, t.name, t.role, JSON.stringify(t.grants), t.secretHash, t.createdAt, t.expiresAt ?? null, t.revokedAt ?? null, t.lastUsedAt ?? null, t.createdBy ?? null],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError(`token ${t.id} already exists`, 'createToken', { cause: err });
      throw new StoreError(`token ${t.id}: ${(err as Error).message}`, 'createToken', { cause: err });
    }
  }

  async getToken(id: string): Promise<ApiTokenRecord | undefined> {
    const { rows } = await this.db.query<PgTokenRow>('SELECT * FROM api_tokens WHERE id = $1', [id]);
    return rows[0] ? fromPg(rows[0]) : undefined;
  }

  async findTokenBySecretHash(secretHash: string): Promise<ApiTokenRecord | undefined> {
    const { rows } = await this.db.query<PgTokenRow>('SELECT * FROM api_tokens WHERE secret_hash = $1', [secretHash]);
    return rows[0] ? fromPg(rows[0]) : undefined;
  }

  async listTokens(): Promise<ApiTokenRecord[]> {
    const { rows } = await this.db.query<PgTokenRow>('SELECT * FROM api_tokens ORDER BY created_at DESC, id DESC');
    return rows.map(fromPg);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    return this.db.transaction(async (client) => {
      const result = await client.query('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
      if ((result.rowCount ?? 0) === 0) return false;
      await client.query('DELETE FROM sessions WHERE token_id = $1', [id]);
      return true;
    });
  }

  async touchToken(id: string, at: string): Promise<void> {
    await this.db.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [at, id]);
  }

  async countUsableTokens(now: string, role?: string): Promise<number> {
    const base = 'SELECT count(*)::int AS n FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)';
    const { rows } =
      role === undefined
        ? await this.db.query<{ n: number }>(base, [now])
        : await this.db.query<{ n: number }>(`${base} AND role = $2`, [now, role]);
    return rows[0]?.n ?? 0;
  }

  async putSession(session: SessionRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO sessions (id_hash, token_id, data, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
      [session.idHash, session.tokenId, session.data, session.expiresAt, session.createdAt],
    );
  }

  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.db.query<{ id_hash: string; token_id: string; data: string; expires_at: string; created_at: string }>(
      'SELECT * FROM sessions WHERE id_hash = $1',
      [idHash],
    );
    const row = rows[0];
    return row ? { idHash: row.id_hash, tokenId: row.token_id, data: row.data, expiresAt: row.expires_at, createdAt: row.created_at } : undefined;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE id_hash = $1', [idHash]);
  }

  async deleteExpiredSessions(now: string): Promise<number> {
    return (await this.db.query('DELETE FROM sessions WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }

  async secret(name: string, create: () => string): Promise<string> {
    // ON CONFLICT DO NOTHING then read: nodes starting together agree on the first value written.
    await this.db.query('INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
      name,
      create(),
      new Date().toISOString(),
    ]);
    const { rows } = await this.db.query<{ value: string }>('SELECT value FROM server_secrets WHERE name = $1', [name]);
    if (!rows[0]) throw new StoreError(`secret ${name} was not stored`, 'secret');
    return rows[0].value;
  }
}

function fromPg(row: PgTokenRow): ApiTokenRecord {
  return fromTokenRow({ ...row, grants: JSON.stringify(row.grants) });
}
