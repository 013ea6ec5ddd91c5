import type { Logger } from 'pino';
import type { CallStore, NodeRecord, NodeStore } from '../store/index.ts';

export interface NodePresenceOptions {
  nodes: NodeStore;
  calls: CallStore;
  /** This node as it is now (live calls, draining) without the heartbeat time. */
  self: () => Omit<NodeRecord, 'heartbeatAt'>;
  heartbeatMs: number;
  deadAfterMs: number;
  log: Logger;
  now?: () => Date;
}

/** A node in GET /api/nodes: the stored row and whether its heartbeat is recent. */
export interface NodeStatus extends NodeRecord {
  alive: boolean;
}

/**
 * Keeps this node's row in the shared registry fresh and reaps dead nodes: a node whose heartbeat is older than
 * `deadAfterMs` is removed and its calls left active are closed as interrupted. Removing the row first decides
 * which survivor does that, so it happens once.
 */
export class NodePresence {
  private readonly o: NodePresenceOptions;
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;

  constructor(opts: NodePresenceOptions) {
    this.o = opts;
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      // One beat at a time: a slow database must not pile them up.
      this.beating ??= this.beat().finally(() => (this.beating = undefined));
    }, this.o.heartbeatMs);
    this.timer.unref();
  }

  /** Writes the heartbeat, then reaps dead nodes. Never rejects: a database that is away is logged and retried. */
  async beat(): Promise<void> {
    const now = this.now();
    try {
      await this.o.nodes.heartbeat({ ...this.o.self(), heartbeatAt: now.toISOString() });
      for (const node of await this.o.nodes.list()) {
        if (node.id === this.o.self().id || isAlive(node, now, this.o.deadAfterMs)) continue;
        await this.reap(node, now);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'node heartbeat failed; retrying');
    }
  }

  async list(): Promise<NodeStatus[]> {
    const now = this.now();
    return (await this.o.nodes.list()).map((n) => ({ ...n, alive: isAlive(n, now, this.o.deadAfterMs) }));
  }

  /** Leaves the registry (clean stop). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await this.o.nodes.remove(this.o.self().id).catch((err: unknown) => this.o.log.warn({ err }, 'could not leave the node registry'));
  }

  private async reap(node: NodeRecord, now: Date): Promise<void> {
    if (!(await this.o.nodes.reap(node.id, node.heartbeatAt))) return; // another survivor took it
    const closed = await this.o.calls.recoverCallsOfNode(node.id, now);
    this.o.log.warn({ node: node.id, lastHeartbeat: node.heartbeatAt, calls: closed.map((c) => c.id) }, 'node is dead: its live calls were closed as interrupted');
  }
}

export function isAlive(node: Pick<NodeRecord, 'heartbeatAt'>, now: Date, deadAfterMs: number): boolean {
  return now.getTime() - Date.parse(node.heartbeatAt) <= deadAfterMs;
}
