import { BUILTIN_PROFILES, CampaignService, systemClock } from '../../src/campaign/index.ts';
import { openPostgresStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { FakeFreeswitch } from '../pbx/freeswitch/peer/fake-freeswitch.ts';
import { dropTestDatabases, freshDatabase, OutageProxy } from '../store/postgres-harness.ts';
import { ALWAYS_OPEN_PROFILE, numbers, outcomeOf } from './crash-checks.ts';
import type { NodeArgs } from './campaign-node.ts';
import { killNode, seeded, sleep, startNode, stderrTail, type NodeProc } from './node-procs.ts';

/**
 * Issue 14's multi-node run, shared by the test (test/campaign/multi-node-campaign.test.ts: what load cannot fake)
 * and the benchmark (bench/campaign-scale.ts multinode: the pace achieved). Several callpilot node processes on one
 * PostgreSQL, reached through a TCP relay that can cut it, dial two campaigns through the FreeSWITCH test peer, which
 * records every originate and every live channel:
 * - `paced`: CPS bound (its trunk's calls per second, shared by the nodes through the store's token bucket);
 * - `capped`: concurrency bound (live calls across the nodes never above `cap`).
 * Nodes are SIGKILLed and restarted when the paced campaign's dialling reaches random points of its progress (so each
 * kill lands mid-campaign however fast or slow the machine is), and once, half-way through the kills, the database
 * is cut for `outageMs`.
 */
export interface MultiNodeOptions {
  nodes: number;
  /** Contacts of the paced campaign; the capped one gets `cappedContacts`. */
  contacts: number;
  cappedContacts: number;
  cps: number;
  cap: number;
  kills: number;
  /** 0: no outage. */
  outageMs: number;
  seed: number;
  /** How long an answered call lasts before the bot hangs up. */
  talkMs: number;
  /** The capped campaign's answered calls (default `talkMs`): long enough, its live calls stay at the cap. */
  cappedTalkMs?: number;
  /** The nodes' dialer pause between passes (campaign-node.ts's default: 20 ms). */
  tickMs?: number;
  /** Give up waiting for the campaigns to finish after this long (the checks then report what is open). */
  finishTimeoutMs: number;
}

export interface LiveSample {
  /** Date.now() */
  at: number;
  live: number;
  /** Taken at an originate (where the count peaks), not by the 50 ms timer: leave out of time averages. */
  atOriginate?: boolean;
}

export interface PeerOriginate {
  dial: string;
  variables: Record<string, string>;
  /** When the peer received it (Date.now()). */
  at: number;
}

export interface MultiNodeRun {
  /** A store on the database directly (not through the relay), open until close(). */
  store: Store;
  paced: string;
  capped: string;
  originates: PeerOriginate[];
  /** Live channels of the capped campaign at the peer: at every capped originate (where the count peaks) and every 50 ms. */
  cappedLive: LiveSample[];
  /** The capped campaign's attempts in flight (`dialing` or `live`, every node's) in the database, every 50 ms: what the cap counts. */
  cappedInFlight: LiveSample[];
  /** When each kill, the outage's start and its end happened (Date.now()). */
  disruptions: number[];
  outage?: { from: number; to: number };
  kills: number;
  /** From the campaigns' start to their end (ms). */
  runMs: number;
  /** Exit codes of the nodes drained by SIGTERM at the end, and their stderr tails. */
  drained: { code: number | null; stderr: string }[];
  /** Nodes that exited by themselves before the end (not killed, not drained): a crash a later kill would hide. */
  crashed: { nodeId: string; code: number; stderr: string }[];
  close(): Promise<void>;
}

const NODE_TUNING = { maxCalls: 200, leaseMs: 30_000, heartbeatMs: 3000, sharedPacing: true };

export async function runMultiNode(o: MultiNodeOptions): Promise<MultiNodeRun> {
  const random = seeded(o.seed);
  const fs = new FakeFreeswitch({ timeScale: 0.02, seed: o.seed });
  fs.setCallee((dial) => outcomeOf(dial));
  const liveOn = (gw: string): number => {
    let n = 0;
    for (const ch of fs.channels.values()) if (ch.originated && !ch.hungUp && ch.destination.includes(`/${gw}/`)) n++;
    return n;
  };
  const originates: PeerOriginate[] = [];
  const cappedLive: LiveSample[] = [];
  const cappedInFlight: LiveSample[] = [];
  const push = fs.originates.push.bind(fs.originates);
  fs.originates.push = (...items) => {
    const at = Date.now();
    for (const item of items) {
      originates.push({ ...item, at });
      // The peer marks the channel live before it records the originate: the count here is the new peak, if any.
      if (item.dial.includes('/capped/')) cappedLive.push({ at, live: liveOn('capped'), atOriginate: true });
    }
    return push(...items);
  };
  const eslPort = await fs.listen();
  const direct = await freshDatabase();
  const relay = new OutageProxy({ host: new URL(direct).hostname, port: Number(new URL(direct).port) });
  await relay.start();
  const nodes: (NodeProc | undefined)[] = [];
  const crashed: MultiNodeRun['crashed'] = [];
  let draining = false;
  const launch = (args: NodeArgs): NodeProc => {
    const node = startNode(args);
    void node.exited.then((code) => {
      if (code !== null && !draining) crashed.push({ nodeId: args.nodeId, code, stderr: stderrTail(node) });
    });
    return node;
  };
  let sampler: NodeJS.Timeout | undefined;
  let dbSampler: Promise<void> | undefined;
  const store = await openPostgresStore(storeConfigSchema.parse({ url: direct }), { nodeId: 'admin' });
  const stopSampling = async (): Promise<void> => {
    if (sampler) clearInterval(sampler);
    sampler = undefined;
    const db = dbSampler;
    dbSampler = undefined;
    await db;
  };
  const close = async (): Promise<void> => {
    await stopSampling();
    for (const n of nodes) if (n) await killNode(n);
    await store.close();
    await relay.close();
    await fs.close();
    await dropTestDatabases();
  };
  try {
    const service = new CampaignService({ store: store.campaigns, clock: systemClock, profiles: { ...BUILTIN_PROFILES, always: ALWAYS_OPEN_PROFILE }, callerIdPool: [], defaultCountry: 'CN' });
    const base = { flow: 'demo', profile: 'always', expectedCallSec: 0, retry: { maxAttempts: 1 } };
    const paced = await service.create({ ...base, name: 'paced', dialPattern: 'sofia/gateway/paced/{national}', trunk: 'paced', cps: o.cps, maxConcurrent: 500 });
    const capped = await service.create({ ...base, name: 'capped', dialPattern: 'sofia/gateway/capped/{national}', trunk: 'capped', cps: 100, maxConcurrent: o.cap });
    const now = new Date().toISOString();
    const contacts = (list: string[]) => list.map((n) => ({ number: n, role: 'debtor' as const, variables: {} }));
    await store.campaigns.addContacts(paced.id, contacts(numbers(o.contacts)), now);
    const cappedVariables: Record<string, string> = o.cappedTalkMs ? { talk_ms: String(o.cappedTalkMs) } : {};
    await store.campaigns.addContacts(capped.id, contacts(numbers(o.cappedContacts, 13900000000)).map((c) => ({ ...c, variables: cappedVariables })), now);

    const url = relay.through(direct);
    const args = (i: number) => ({ ...NODE_TUNING, postgres: url, eslPort, nodeId: `node-${i}`, talkMs: o.talkMs, tickMs: o.tickMs });
    for (let i = 0; i < o.nodes; i++) nodes[i] = launch(args(i));
    await Promise.all(nodes.map((n) => n!.ready));
    sampler = setInterval(() => cappedLive.push({ at: Date.now(), live: liveOn('capped') }), 50);
    // On the direct connection (the relay's cut does not stop it); while the database is cut for the nodes it still answers.
    dbSampler = (async () => {
      while (sampler) {
        const at = Date.now();
        // A sample that fails is left out (the samples carry their times), never fatal to the run.
        const live = await store.campaigns.liveCount(capped.id).catch(() => undefined);
        if (live !== undefined) cappedInFlight.push({ at, live });
        await sleep(Math.max(0, 50 - (Date.now() - at)));
      }
    })();
    const started = Date.now();
    await service.act(paced.id, 'start');
    await service.act(capped.id, 'start');

    // Each kill when the paced campaign's originates pass a random share (2-90 %) of its contacts.
    const killAt = Array.from({ length: o.kills }, () => Math.ceil(o.contacts * (0.02 + random() * 0.88))).sort((a, b) => a - b);
    const pacedOriginates = () => originates.filter((x) => x.dial.includes('/paced/')).length;
    const up = new Set<number>(nodes.map((_, i) => i));
    const disruptions: number[] = [];
    let outage: { from: number; to: number } | undefined;
    let kills = 0;
    while (kills < o.kills) {
      if (pacedOriginates() < killAt[kills]! || up.size === 0) {
        await sleep(20);
        continue;
      }
      if (!outage && o.outageMs > 0 && kills >= o.kills / 2) {
        // Every node up first: a node cannot start without its database.
        await Promise.all(nodes.map((n) => n!.ready));
        const from = Date.now();
        relay.cut();
        await sleep(o.outageMs);
        relay.restore();
        outage = { from, to: Date.now() };
        disruptions.push(from, outage.to);
      }
      const candidates = [...up];
      const i = candidates[Math.floor(random() * candidates.length)]!;
      up.delete(i);
      await killNode(nodes[i]!);
      disruptions.push(Date.now());
      kills++;
      const node = launch(args(i));
      nodes[i] = node;
      void node.ready.then(() => up.add(i));
    }
    await Promise.all(nodes.map((n) => n!.ready));
    const deadline = Date.now() + o.finishTimeoutMs;
    while ((await store.campaigns.listCampaigns({ state: 'running' })).length > 0 && Date.now() < deadline) await sleep(250);
    const runMs = Date.now() - started;
    await stopSampling();
    draining = true;
    for (const n of nodes) n?.proc.kill('SIGTERM');
    const drained = await Promise.all(nodes.map(async (n) => ({ code: (await n?.exited) ?? null, stderr: n ? stderrTail(n) : '' })));
    nodes.length = 0;
    return { store, paced: paced.id, capped: capped.id, originates, cappedLive, cappedInFlight, disruptions, outage, kills, runMs, drained, crashed, close };
  } catch (err) {
    await close();
    throw err;
  }
}
