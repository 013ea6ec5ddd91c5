/** One callpilot process, as the other nodes on the same store see it. */
export interface NodeRecord {
  id: string;
  /** Where its HTTP/WebSocket server is reachable (for operators and PBX configs). */
  address: string;
  version: string;
  /** Calls it admits at most (`server.maxCalls`). */
  capacity: number;
  liveCalls: number;
  /** Stopping: takes no new calls or campaign work. */
  draining: boolean;
  startedAt: string; // ISO 8601
  heartbeatAt: string; // ISO 8601
}

/** The node registry: each node upserts its row on a heartbeat; a row whose heartbeat is old is a dead node. */
export interface NodeStore {
  heartbeat(node: NodeRecord): Promise<void>;
  list(): Promise<NodeRecord[]>;
  /** A node that stopped cleanly leaves the registry. */
  remove(id: string): Promise<void>;
  /**
   * Removes a dead node's row if its heartbeat is still `heartbeatAt` (it did not come back meanwhile); true for
   * the one caller that removed it, so only one survivor takes over its work.
   */
  reap(id: string, heartbeatAt: string): Promise<boolean>;
}
