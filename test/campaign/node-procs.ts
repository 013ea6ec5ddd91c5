import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NodeArgs } from './campaign-node.ts';

const NODE_SCRIPT = fileURLToPath(new URL('./campaign-node.ts', import.meta.url));

export interface NodeProc {
  proc: ChildProcess;
  /** Resolves once the node's dialer runs (its reconciliation with the PBX is done). */
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** Last `stats` line the node printed. */
  last: Record<string, unknown>;
  lines: Record<string, unknown>[];
  stderr: string[];
}

/** Starts one campaign node (test/campaign/campaign-node.ts) as a child process. */
export function startNode(args: NodeArgs): NodeProc {
  const proc = spawn(process.execPath, ['--import', 'tsx', NODE_SCRIPT, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const node: NodeProc = { proc, ready: Promise.resolve(), exited: Promise.resolve(null), last: {}, lines: [], stderr: [] };
  node.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  node.ready = new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      node.lines.push(msg);
      if (msg.ready) resolve();
      if (msg.stats) node.last = msg;
    });
    void node.exited.then((code) => reject(new Error(`node ${args.nodeId} exited (${code}) before it was ready: ${stderrTail(node, 2000)}`)));
  });
  node.ready.catch(() => undefined);
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    node.stderr.push(`${line}\n`);
    if (node.stderr.length > 200) node.stderr.shift();
  });
  return node;
}

/** The end of what the node wrote to stderr (its last lines, at most `chars` characters). */
export function stderrTail(node: NodeProc, chars = 1500): string {
  return node.stderr.join('').slice(-chars);
}

/** SIGKILL: no drain, no goodbye, exactly what a crash or an OOM kill does. */
export async function killNode(node: NodeProc): Promise<void> {
  node.proc.kill('SIGKILL');
  await node.exited;
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with its printed seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
