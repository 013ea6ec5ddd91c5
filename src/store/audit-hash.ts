import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AuditEntry } from './audit-types.ts';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash of one audit row: sha256 over a fixed-order JSON array of every stored field and the previous row's
 * hash, so changing, removing or reordering any row breaks the chain from there on.
 */
export function auditRowHash(entry: Omit<AuditEntry, 'hash'>, detailJson: string): string {
  const content = JSON.stringify([
    entry.seq,
    entry.at,
    entry.actor,
    entry.role,
    entry.tokenId ?? null,
    entry.action,
    entry.target ?? null,
    detailJson,
    entry.prevHash,
  ]);
  return createHash('sha256').update(content).digest('hex');
}

export const newAuditEntrySchema = z.object({
  at: z.iso.datetime({ offset: true }),
  actor: z.string().min(1).max(200),
  role: z.string().min(1).max(50),
  tokenId: z.string().max(100).optional(),
  action: z.string().min(1).max(100),
  target: z.string().max(500).optional(),
  detail: z.record(z.string(), z.unknown()),
});

export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  role: string;
  token_id: string | null;
  action: string;
  target: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

export function fromAuditRow(row: AuditRow): AuditEntry {
  const entry: AuditEntry = {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    role: row.role,
    action: row.action,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.token_id !== null) entry.tokenId = row.token_id;
  if (row.target !== null) entry.target = row.target;
  return entry;
}
