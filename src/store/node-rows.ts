import { z } from 'zod';
import { StoreError } from './store-error.ts';
import { describeIssues } from './record-schemas.ts';
import type { NodeRecord } from './node-types.ts';

const nodeSchema = z.object({
  id: z.string().min(1).max(200),
  address: z.string().max(500),
  version: z.string().max(100),
  capacity: z.number().int().min(0),
  liveCalls: z.number().int().min(0),
  draining: z.boolean(),
  startedAt: z.iso.datetime({ offset: true }),
  heartbeatAt: z.iso.datetime({ offset: true }),
});

export interface NodeRow {
  id: string;
  address: string;
  version: string;
  capacity: number;
  live_calls: number;
  draining: number | boolean;
  started_at: string;
  heartbeat_at: string;
}

export const NODE_COLUMNS = ['id', 'address', 'version', 'capacity', 'live_calls', 'draining', 'started_at', 'heartbeat_at'] as const;

/** Column values in NODE_COLUMNS order, after validation. */
export function nodeParams(node: NodeRecord): (string | number | boolean)[] {
  const parsed = nodeSchema.safeParse(node);
  if (!parsed.success) throw new StoreError(`malformed node record: ${describeIssues(parsed.error)}`, 'heartbeat');
  const n = parsed.data;
  return [n.id, n.address, n.version, n.capacity, n.liveCalls, n.draining, n.startedAt, n.heartbeatAt];
}

export function fromNodeRow(row: NodeRow): NodeRecord {
  return {
    id: row.id,
    address: row.address,
    version: row.version,
    capacity: Number(row.capacity),
    liveCalls: Number(row.live_calls),
    draining: row.draining === true || row.draining === 1,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
  };
}
