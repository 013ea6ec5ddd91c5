import { createHash, randomBytes } from 'node:crypto';
import type { ApiTokenRecord, TokenStore } from '../store/index.ts';
import { GRANTS, isGrant, isRole, ROLES, type Grant, type Principal, type Role } from './roles.ts';

/** Prefix of every callpilot API token, so one pasted into a log or a ticket is easy to spot and revoke. */
export const TOKEN_PREFIX = 'cpt_';
const TOKEN_PATTERN = /^cpt_[A-Za-z0-9_-]{43}$/;

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** A token as lists show it: everything but the hash. */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  grants: Grant[];
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
  createdBy?: string;
  /** `active`, `expired` or `revoked` at the time of listing. */
  state: 'active' | 'expired' | 'revoked';
}

export interface CreateTokenRequest {
  name?: string;
  role: string;
  grants?: readonly string[];
  expiresAt?: Date;
  createdBy?: string;
}

export interface TokenServiceOptions {
  now?: () => Date;
}

/** last_used_at is informational: write it at most this often per token instead of on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * API tokens: 256 random bits shown once at creation, stored as their sha256 (a hash of a high-entropy secret
 * cannot be brute-forced, so no slow KDF is needed and lookups stay one index probe).
 */
export class TokenService {
  private readonly now: () => Date;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    opts: TokenServiceOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  async create(req: CreateTokenRequest): Promise<{ token: string; info: TokenInfo }> {
    if (!isRole(req.role)) throw new TokenError(`unknown role "${req.role}" (roles: ${ROLES.join(', ')})`);
    const grants = [...new Set(req.grants ?? [])];
    for (const grant of grants) if (!isGrant(grant)) throw new TokenError(`unknown grant "${grant}" (grants: ${GRANTS.join(', ')})`);
    const now = this.now();
    if (req.expiresAt && !(req.expiresAt.getTime() > now.getTime())) throw new TokenError('expiry must be in the future');
    const name = (req.name ?? `${req.role}-${now.toISOString().slice(0, 10)}`).trim();
    if (name === '' || name.length > 200 || /[\u0000-\u001f]/.test(name)) throw new TokenError('name must be 1..200 printable characters');
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record: ApiTokenRecord = {
      id: `tok_${randomBytes(6).toString('hex')}`,
      name,
      role: req.role,
      grants,
      secretHash: hashSecret(token),
      createdAt: now.toISOString(),
      expiresAt: req.expiresAt?.toISOString(),
      createdBy: req.createdBy,
    };
    await this.store.createToken(record);
    return { token, info: this.info(record, now) };
  }

  /** The principal behind a presented secret, or undefined when it is unknown, revoked or expired. */
  async authenticate(secret: string, via: Principal['via'] = 'bearer'): Promise<Principal | undefined> {
    if (!TOKEN_PATTERN.test(secret)) return undefined;
    const record = await this.store.findTokenBySecretHash(hashSecret(secret));
    return record ? this.principalOf(record, via) : undefined;
  }

  /** The principal of a token id (console sessions keep the id): undefined once revoked or expired. */
  async principalForId(tokenId: string, via: Principal['via']): Promise<Principal | undefined> {
    const record = await this.store.getToken(tokenId);
    return record ? this.principalOf(record, via) : undefined;
  }

  async list(): Promise<TokenInfo[]> {
    const now = this.now();
    return (await this.store.listTokens()).map((record) => this.info(record, now));
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    const record = await this.store.getToken(id);
    return record ? this.info(record, this.now()) : undefined;
  }

  /** Revokes a token and ends its console sessions; false when it does not exist or was already revoked. */
  async revoke(id: string): Promise<boolean> {
    return this.store.revokeToken(id, this.now().toISOString());
  }

  /** Whether any token that could sign in is left (first start check). */
  async hasUsableToken(role?: Role): Promise<boolean> {
    return (await this.store.countUsableTokens(this.now().toISOString(), role)) > 0;
  }

  private async principalOf(record: ApiTokenRecord, via: Principal['via']): Promise<Principal | undefined> {
    const now = this.now();
    if (this.stateOf(record, now) !== 'active' || !isRole(record.role)) return undefined;
    const last = this.touched.get(record.id) ?? 0;
    if (now.getTime() - last > TOUCH_INTERVAL_MS) {
      this.touched.set(record.id, now.getTime());
      await this.store.touchToken(record.id, now.toISOString());
    }
    return { tokenId: record.id, name: record.name, role: record.role, grants: record.grants.filter(isGrant), via };
  }

  private stateOf(record: ApiTokenRecord, now: Date): TokenInfo['state'] {
    if (record.revokedAt) return 'revoked';
    if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
    return 'active';
  }

  private info(record: ApiTokenRecord, now: Date): TokenInfo {
    const { secretHash: _hash, ...rest } = record;
    return { ...rest, role: record.role as Role, grants: record.grants.filter(isGrant), state: this.stateOf(record, now) };
  }
}

/** `30d`, `12h`, `90m` from now, or an ISO date/time. */
export function parseExpiry(text: string, now: Date = new Date()): Date {
  const relative = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as 'd' | 'h' | 'm'];
    return new Date(now.getTime() + Number(relative[1]) * unit);
  }
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new TokenError(`cannot read expiry "${text}": use e.g. 30d, 12h, 90m or 2026-12-31T00:00:00Z`);
  return at;
}
