import { z } from 'zod';
import type { ApiTokenRecord } from './tokens-types.ts';

// Validation and row mapping of API tokens, shared by the SQLite and PostgreSQL stores.

const isoTime = z.iso.datetime({ offset: true });
export const tokenRecordSchema = z.object({
  id: z.string().min(1).max(100),
  name: z.string().min(1).max(200),
  role: z.string().min(1).max(50),
  grants: z.array(z.string().min(1).max(50)).max(20),
  secretHash: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest'),
  createdAt: isoTime,
  expiresAt: isoTime.optional(),
  revokedAt: isoTime.optional(),
  lastUsedAt: isoTime.optional(),
  createdBy: z.string().max(200).optional(),
});

export interface TokenRow {
  id: string;
  name: string;
  role: string;
  grants: string;
  secret_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  created_by: string | null;
}

export function fromTokenRow(row: TokenRow): ApiTokenRecord {
  const token: ApiTokenRecord = {
    id: row.id,
    name: row.name,
    role: row.role,
    grants: JSON.parse(row.grants) as string[],
    secretHash: row.secret_hash,
    createdAt: row.created_at,
  };
  if (row.expires_at !== null) token.expiresAt = row.expires_at;
  if (row.revoked_at !== null) token.revokedAt = row.revoked_at;
  if (row.last_used_at !== null) token.lastUsedAt = row.last_used_at;
  if (row.created_by !== null) token.createdBy = row.created_by;
  return token;
}
