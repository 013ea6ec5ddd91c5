import { createHash } from 'node:crypto';
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
