import type Database from 'better-sqlite3';
import { NODE_COLUMNS, fromNodeRow, nodeParams, type NodeRow } from './node-rows.ts';
import type { NodeRecord, NodeStore } from './node-types.ts';
import { runWrite, type SqliteDatabase } from './sqlite-database.ts';

/** The node registry on SQLite: one node in practice, kept so `GET /api/nodes` means the same on both backends. */
export class SqliteNodeStore implements NodeStore {
  private readonly upsert: Database.Statement;
  private readonly all: Database.Statement<[], NodeRow>;
  private readonly del: Database.Statement<[string]>;
  private readonly delIf: Database.Statement<[string, string]>;

  constructor(db: SqliteDatabase) {
    this.upsert = db.prepare(
      `INSERT INTO nodes (${NODE_COLUMNS.join(', ')}) VALUES (${NODE_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (id) DO UPDATE SET ${NODE_COLUMNS.filter((c) => c !== 'id' && c !== 'started_at').map((c) => `${c} = excluded.${c}`).join(', ')}, started_at = excluded.started_at`,
    );
    this.all = db.prepare('SELECT * FROM nodes ORDER BY id');
    this.del = db.prepare('DELETE FROM nodes WHERE id = ?');
    this.delIf = db.prepare('DELETE FROM nodes WHERE id = ? AND heartbeat_at = ?');
  }

  async heartbeat(node: NodeRecord): Promise<void> {
    const params = nodeParams(node).map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    runWrite('heartbeat', () => this.upsert.run(...params), `node ${node.id}`);
  }

  async list(): Promise<NodeRecord[]> {
    return this.all.all().map(fromNodeRow);
  }

  async remove(id: string): Promise<void> {
    this.del.run(id);
  }

  async reap(id: string, heartbeatAt: string): Promise<boolean> {
    return this.delIf.run(id, heartbeatAt).changes === 1;
  }
}
