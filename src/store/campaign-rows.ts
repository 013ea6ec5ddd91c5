import { StoreError } from './store-error.ts';
import type {
  AttemptRecord,
  CampaignRecord,
  CampaignState,
  ContactRecord,
  ContactState,
  DncEntry,
  WebhookDelivery,
  WebhookState,
} from './campaign-types.ts';

// Campaign records <-> rows for both backends: the same columns; JSON arrives as text from SQLite and parsed from
// PostgreSQL's jsonb, booleans as 0/1 or true/false, counts as numbers or bigint strings.

export type Row = Record<string, unknown>;

export const SPEC_FIELDS = [
  'flow', 'lang', 'pbx', 'dialPattern', 'trunk', 'callerIds', 'maxConcurrent', 'cps', 'profile', 'timeZone',
  'expectedCallSec', 'ringTimeoutSec', 'retry', 'webhook',
] as const;

/** Constant SQL string literals for an `IN (...)` list (only for fixed names from code, never for input). */
export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
}

export function clampLimit(limit: number | undefined, def: number, max: number, op: string): number {
  const l = limit ?? def;
  if (!Number.isInteger(l) || l < 1 || l > max) throw new StoreError(`limit must be an integer 1..${max}, got ${l}`, op);
  return l;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const bool = (v: unknown): boolean => v === 1 || v === true;

export function specOf(c: CampaignRecord): string {
  const spec: Record<string, unknown> = {};
  for (const f of SPEC_FIELDS) if (c[f] !== undefined) spec[f] = c[f];
  return JSON.stringify(spec);
}

export function campaignFromRow(row: Row): CampaignRecord {
  const spec = json<Omit<CampaignRecord, 'id' | 'name' | 'state' | 'priority' | 'createdAt' | 'updatedAt'>>(row.spec);
  return {
    id: row.id as string,
    name: row.name as string,
    state: row.state as CampaignState,
    priority: num(row.priority),
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
    ...spec,
  };
}

export function contactFromRow(row: Row): ContactRecord {
  const c: ContactRecord = {
    id: num(row.id),
    campaignId: row.campaign_id as string,
    number: row.number as string,
    consent: bool(row.consent),
    variables: json<Record<string, string>>(row.variables),
    state: row.state as ContactState,
    attempts: num(row.attempts),
  };
  if (row.role !== null) c.role = row.role as ContactRecord['role'];
  if (row.time_zone !== null) c.timeZone = row.time_zone as string;
  if (row.row_no !== null) c.rowNo = num(row.row_no);
  if (row.next_at !== null) c.nextAt = row.next_at as string;
  if (row.last_disposition !== null) c.lastDisposition = row.last_disposition as string;
  return c;
}

export function attemptFromRow(row: Row): AttemptRecord {
  const a: AttemptRecord = {
    id: row.id as string,
    campaignId: row.campaign_id as string,
    contactId: num(row.contact_id),
    attemptNo: num(row.attempt_no),
    number: row.number as string,
    state: row.state as AttemptRecord['state'],
    nodeId: row.node_id as string,
    leaseUntil: row.lease_until as string,
    trunk: row.trunk as string,
    createdAt: row.created_at as string,
  };
  const opt = <K extends keyof AttemptRecord>(k: K, col: string, map: (v: unknown) => AttemptRecord[K] = (v) => v as AttemptRecord[K]): void => {
    if (row[col] !== null && row[col] !== undefined) a[k] = map(row[col]);
  };
  opt('callerId', 'caller_id');
  opt('callId', 'call_id');
  opt('pbxCallId', 'pbx_call_id');
  opt('disposition', 'disposition');
  opt('cause', 'cause', (v) => num(v));
  opt('progress', 'progress');
  opt('answeredAt', 'answered_at');
  opt('endedAt', 'ended_at');
  opt('durationSec', 'duration_sec', (v) => num(v));
  opt('slots', 'slots', (v) => json<Record<string, string>>(v));
  opt('note', 'note');
  return a;
}

export function dncFromRow(row: Row): DncEntry {
  const e: DncEntry = {
    number: row.number as string,
    scope: row.scope as string,
    reason: row.reason as string,
    source: row.source as DncEntry['source'],
    addedAt: row.added_at as string,
  };
  if (row.call_id !== null) e.callId = row.call_id as string;
  if (row.words !== null) e.words = row.words as string;
  if (row.expires_at !== null) e.expiresAt = row.expires_at as string;
  return e;
}

export function webhookFromRow(row: Row): WebhookDelivery {
  const w: WebhookDelivery = {
    id: num(row.id),
    campaignId: row.campaign_id as string,
    event: row.event as string,
    idempotencyKey: row.idempotency_key as string,
    payload: json<Record<string, unknown>>(row.payload),
    state: row.state as WebhookState,
    tries: num(row.tries),
    nextAt: row.next_at as string,
    createdAt: row.created_at as string,
  };
  if (row.last_error !== null) w.lastError = row.last_error as string;
  return w;
}
