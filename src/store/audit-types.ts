/** One row of the append-only, hash-chained audit log. */
export interface AuditEntry {
  /** 1, 2, 3, ... in append order; the paging cursor. */
  seq: number;
  at: string; // ISO 8601
  /** Token name of whoever acted (`cli`, `system` for callpilot itself). */
  actor: string;
  role: string;
  tokenId?: string;
  /** What was done, e.g. `recording.download`, `token.create`, `call.originate`. */
  action: string;
  /** What it was done to (call id, token id, ...). */
  target?: string;
  detail: Record<string, unknown>;
  /** Hash of the previous row (64 zeros for the first). */
  prevHash: string;
  /** sha256 over this row's content and prevHash. */
  hash: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>;

export type AuditVerification = { ok: true; rows: number } | { ok: false; rows: number; badSeq: number; reason: string };

export interface AuditStore {
  /** Appends one row, chaining it to the last one. */
  append(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Rows with seq > `after` (oldest first) or, with `before`, rows older than it (newest first). */
  list(opts?: { after?: number; before?: number; limit?: number }): Promise<AuditEntry[]>;
  /** Recomputes every hash and link; reports the first row that does not match. */
  verify(): Promise<AuditVerification>;
}
