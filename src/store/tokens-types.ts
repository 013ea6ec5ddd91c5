/**
 * API tokens, console sessions and server secrets. Roles and grants are plain strings here: what they mean is
 * src/auth's business, the store only keeps them.
 */
export interface ApiTokenRecord {
  /** Public id (`tok_...`), shown in lists and used to revoke; never a credential. */
  id: string;
  name: string;
  role: string;
  grants: string[];
  /** sha256 (hex) of the secret: the secret itself is shown once at creation and never stored. */
  secretHash: string;
  createdAt: string; // ISO 8601
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
  /** Name of whoever created it (`cli` for the command line). */
  createdBy?: string;
}

export interface SessionRecord {
  /** sha256 (hex) of the session id carried by the cookie. */
  idHash: string;
  tokenId: string;
  /** The session plugin's serialized state. */
  data: string;
  expiresAt: string;
  createdAt: string;
}

export interface TokenStore {
  createToken(token: ApiTokenRecord): Promise<void>;
  getToken(id: string): Promise<ApiTokenRecord | undefined>;
  findTokenBySecretHash(secretHash: string): Promise<ApiTokenRecord | undefined>;
  /** Every token, newest first (revoked and expired ones too). */
  listTokens(): Promise<ApiTokenRecord[]>;
  /** Marks a token revoked; false when there is no such token or it was already revoked. Its sessions are deleted. */
  revokeToken(id: string, at: string): Promise<boolean>;
  touchToken(id: string, at: string): Promise<void>;
  /** Tokens neither revoked nor expired at `now`, optionally of one role. */
  countUsableTokens(now: string, role?: string): Promise<number>;

  putSession(session: SessionRecord): Promise<void>;
  getSession(idHash: string): Promise<SessionRecord | undefined>;
  deleteSession(idHash: string): Promise<void>;
  deleteExpiredSessions(now: string): Promise<number>;

  /** A named server secret (cookie signing key), created with `create()` the first time and kept from then on. */
  secret(name: string, create: () => string): Promise<string>;
}
