import { NODE_COLUMNS, fromNodeRow, nodeParams, type NodeRow } from './node-rows.ts';
import type { NodeRecord, NodeStore } from './node-types.ts';
import type { PostgresDatabase } from './postgres-database.ts';

const UPSERT = `INSERT INTO nodes (${NODE_COLUMNS.join(', ')}) VALUES (${NODE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (id) DO UPDATE SET ${NODE_COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = excluded.${c}`).join(', ')}`;

/**
 * The node registry on PostgreSQL. Heartbeats go straight to the database (not through the write queue): a node
 * that cannot reach the database must look dead to the others.
 */
export class PostgresNodeStore implements NodeStore {
  constructor(private readonly db: PostgresDatabase) {}

  async heartbeat(node: NodeRecord): Promise<void> {
    await this.db.query(UPSERT, nodeParams(node));
  }

  async list(): Promise<NodeRecord[]> {
    const { rows } = await this.db.query<NodeRow>('SELECT * FROM nodes ORDER BY id');
    return rows.map(fromNodeRow);
  }

  async remove(id: string): Promise<void> {
    await this.db.query('DELETE FROM nodes WHERE id = $1', [id]);
  }

  async reap(id: string, heartbeatAt: string): Promise<boolean> {
    const result = await this.db.query('DELETE FROM nodes WHERE id = $1 AND heartbeat_at = $2', [id, heartbeatAt]);
    return result.rowCount === 1;
  }
}
