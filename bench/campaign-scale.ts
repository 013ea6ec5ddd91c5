/**
 * Campaign and scale-out benchmarks (issues 11 and 14). Prints one JSON line per figure.
 *
 *   node --import tsx bench/campaign-scale.ts claims  [--contacts 3000]            attempts/s claimed+dialled: 1, 2, 3 nodes on PostgreSQL, 1 on SQLite
 *   node --import tsx bench/campaign-scale.ts import  [--rows 100000]              contacts import rows/s (CSV, SQLite; PostgreSQL too when TEST_POSTGRES_URL is set)
 *   node --import tsx bench/campaign-scale.ts scheduler [--attempts 10000]         dialer CPU cost per attempt (fake clock, in-memory SQLite, instant calls)
 *   node --import tsx bench/campaign-scale.ts fakepbx [--attempts 2000] [--cps 50] attempts through the FreeSWITCH test peer at a CPS: achieved rate, claim-to-originate lag
 *   node --import tsx bench/campaign-scale.ts multinode [--contacts 2000] [--cps 15] [--cap 20] [--capped-talk-ms 3000] [--tick-ms 20] [--nodes 3] [--kills 0] [--outage-ms 0] [--seed 1]
 *       node processes on PostgreSQL through the FreeSWITCH test peer (the multi-node test's run): CPS achieved across
 *       the nodes at the peer, share of whole seconds within 5 % of the target, the capped campaign's live calls
 *       against its cap (peer and database); a last line says which targets held
 *
 * PostgreSQL comes from TEST_POSTGRES_URL (`eval "$(bash .ci/postgres.sh start)"`); "nodes" in `claims` are dialers
 * in this one process, each with its own store (own connection pool, own node id), as separate processes would
 * have: the figure is the store's claim path shared by the nodes, not N processes' CPU.
 */
import { pino } from 'pino';
import { attemptClaimedAt, BUILTIN_PROFILES, CampaignDialer, CampaignService, complianceProfileSchema, importContacts, ManualClock, systemClock, trunkBurst, type CallPlacer, type Clock } from '../src/campaign/index.ts';
import type { OutboundCallOutcome, OutboundCallRequest, PlaceCallResult } from '../src/calls/index.ts';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type Store } from '../src/store/index.ts';
import { loadavg } from 'node:os';
import pg from 'pg';
import { bucketStalls, distribution, occupancy, paceBySecond } from './lib/index.ts';

const log = pino({ level: 'silent' });
const ALWAYS = complianceProfileSchema.parse({ ...BUILTIN_PROFILES['cn-collection'], windows: { default: ['00:00-24:00'] }, maxAttemptsPerNumberPerDay: undefined });
const profiles = { ...BUILTIN_PROFILES, always: ALWAYS };
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const numbers = (n: number): string[] => Array.from({ length: n }, (_, i) => `+86${13800000000 + i}`);
const PG = process.env.TEST_POSTGRES_URL;
let dbCounter = 0;

async function freshPg(): Promise<string> {
  if (!PG) throw new Error('TEST_POSTGRES_URL is not set');
  const name = `cp_bench_${process.pid}_${++dbCounter}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG);
  u.pathname = `/${name}`;
  return u.toString();
}

async function dropPg(): Promise<void> {
  if (!PG) return;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`cp_bench_${process.pid}_%`]);
  for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
  await admin.end();
}

/** Peak resident set size while `run` runs, sampled every 50 ms (MB), and the process CPU it used (µs). */
async function measured<T>(run: () => Promise<T>): Promise<{ result: T; peakRssMb: number; cpuUs: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const cpu0 = process.cpuUsage();
  try {
    const result = await run();
    const cpu = process.cpuUsage(cpu0);
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRssMb: +(peak / 1048576).toFixed(1), cpuUs: cpu.user + cpu.system };
  } finally {
    clearInterval(timer);
  }
}

/** Calls that end at once (busy): the dial path costs nothing, so the figure is the claim path's. */
class InstantPlacer implements CallPlacer {
  placed = 0;
  async placeCall(_req: OutboundCallRequest): Promise<PlaceCallResult> {
    this.placed++;
    const outcome: OutboundCallOutcome = { callId: `c${this.placed}`, telephony: 'busy', disposition: 'busy', cause: 17, endedAt: new Date().toISOString(), slots: {} };
    return { callId: outcome.callId, outcome: Promise.resolve(outcome) };
  }
}

async function seedCampaign(store: Store, clock: Clock, contacts: number, extra: Record<string, unknown> = {}): Promise<string> {
  const service = new CampaignService({ store: store.campaigns, clock, profiles, callerIdPool: [], defaultCountry: 'CN' });
  const c = await service.create({ name: 'bench', flow: 'demo', dialPattern: 'sofia/gateway/gw/{national}', profile: 'always', expectedCallSec: 0, cps: 1000, maxConcurrent: 10_000, retry: { maxAttempts: 1 }, ...extra });
  const all = numbers(contacts).map((n) => ({ number: n, role: 'debtor' as const, variables: {} }));
  for (let i = 0; i < all.length; i += 1000) await store.campaigns.addContacts(c.id, all.slice(i, i + 1000), new Date(clock.now()).toISOString());
  await service.act(c.id, 'start');
  return c.id;
}

async function claims(): Promise<void> {
  const contacts = arg('contacts', 3000);
  const run = async (backend: string, stores: Store[]): Promise<void> => {
    const id = await seedCampaign(stores[0]!, systemClock, contacts);
    const placers = stores.map(() => new InstantPlacer());
    const dialers = stores.map(
      (s, i) => new CampaignDialer({ store: s.campaigns, calls: s.calls, placer: placers[i]!, adapters: [], clock: systemClock, nodeId: `bench-${i}`, profiles, freeCalls: () => 10_000, log, tickMs: 5, sharedPacing: backend === 'postgres' }),
    );
    const t0 = performance.now();
    await Promise.all(dialers.map((d) => d.start()));
    while ((await stores[0]!.campaigns.getCampaign(id))?.state === 'running') await new Promise((r) => setTimeout(r, 50));
    const sec = (performance.now() - t0) / 1000;
    await Promise.all(dialers.map((d) => d.stop()));
    const dialled = placers.reduce((a, p) => a + p.placed, 0);
    const stats = await stores[0]!.campaigns.stats(id, new Date().toISOString());
    console.log(JSON.stringify({ bench: 'claims', backend, nodes: stores.length, contacts, attempts: stats.attempts, dialled, seconds: +sec.toFixed(2), attemptsPerSec: +(dialled / sec).toFixed(1), perNode: placers.map((p) => p.placed) }));
    for (const s of new Set(stores)) await s.close();
  };
  await run('sqlite', [openSqliteStore(':memory:', { log })]);
  if (!PG) {
    console.log(JSON.stringify({ bench: 'claims', skipped: 'postgres: TEST_POSTGRES_URL is not set' }));
    return;
  }
  for (const n of [1, 2, 3]) {
    const url = await freshPg();
    const stores = await Promise.all(Array.from({ length: n }, (_, i) => openPostgresStore(storeConfigSchema.parse({ url }), { log, nodeId: `bench-${i}` })));
    await run('postgres', stores);
  }
}

async function importBench(): Promise<void> {
  const rows = arg('rows', 100_000);
  const lines = ['phone,role,name,amount,due_date'];
  for (let i = 0; i < rows; i++) lines.push(`${13800000000 + i},debtor,"张三${i}",${(i % 5000) + 100}.50,2026-12-${String((i % 28) + 1).padStart(2, '0')}`);
  const csv = Buffer.from(lines.join('\n'));
  const run = async (backend: string, store: Store): Promise<void> => {
    const clock = systemClock;
    const service = new CampaignService({ store: store.campaigns, clock, profiles, callerIdPool: [], defaultCountry: 'CN' });
    const campaign = await service.create({ name: 'import', flow: 'demo', dialPattern: 'PJSIP/{national}@t', profile: 'cn-collection' });
    const rssBefore = +(process.memoryUsage.rss() / 1048576).toFixed(1);
    const t0 = performance.now();
    const { result: r, peakRssMb, cpuUs } = await measured(() =>
      importContacts(csv, { store: store.campaigns, campaign, profile: BUILTIN_PROFILES['cn-collection']!, defaultCountry: 'CN', file: 'bench.csv', now: () => Date.now() }),
    );
    const sec = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({ bench: 'import', backend, rows, accepted: r.report.accepted, rejected: r.report.rejected, bytes: csv.length, seconds: +sec.toFixed(2), rowsPerSec: Math.round(rows / sec), cpuRowsPerSec: Math.round(rows / (cpuUs / 1e6)), rssBeforeMb: rssBefore, peakRssMb }),
    );
    await store.close();
  };
  await run('sqlite', openSqliteStore(':memory:', { log }));
  if (PG) await run('postgres', await openPostgresStore(storeConfigSchema.parse({ url: await freshPg() }), { log, nodeId: 'bench' }));
}

async function scheduler(): Promise<void> {
  const attempts = arg('attempts', 10_000);
  const store = openSqliteStore(':memory:', { log });
  const clock = new ManualClock(Date.parse('2026-12-02T02:00:00Z'));
  const id = await seedCampaign(store, clock, attempts, { cps: 100, maxConcurrent: 100 });
  const placer = new InstantPlacer();
  const dialer = new CampaignDialer({ store: store.campaigns, calls: store.calls, placer, adapters: [], clock, nodeId: 'bench', profiles, freeCalls: () => 10_000, log });
  await dialer.reconcile();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ticks = 0;
  while (placer.placed < attempts) {
    await dialer.tick();
    ticks++;
    await clock.advance(100);
  }
  await dialer.settled();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const stats = await store.campaigns.stats(id, new Date().toISOString());
  console.log(
    JSON.stringify({ bench: 'scheduler', backend: 'sqlite-memory', attempts: stats.attempts, ticks, cpuUsPerAttempt: Math.round((cpu.user + cpu.system) / attempts), wallUsPerAttempt: Math.round((wall * 1000) / attempts) }),
  );
  await store.close();
}

async function fakePbx(): Promise<void> {
  const attempts = arg('attempts', 2000);
  const cps = arg('cps', 50);
  const { FakeFreeswitch } = await import('../test/pbx/freeswitch/peer/fake-freeswitch.ts');
  const { TestMediaServer } = await import('../test/pbx/freeswitch/peer/media-server.ts');
  const { createFreeswitchAdapter } = await import('../src/pbx/freeswitch/index.ts');
  const { freeswitchConfigSchema } = await import('../src/pbx/config.ts');
  const { OutboundCallService, CallAdmission } = await import('../src/calls/index.ts');
  const fs = new FakeFreeswitch({ timeScale: 0.02 });
  // Mostly unanswered (busy / ring-out / unreachable), a fifth answered for 150 ms: the dialer's load, not dialogs.
  fs.setCallee((d) => (['0', '1'].includes(d.at(-1)!) ? 'answer' : d.at(-1)! < '5' ? 'busy' : d.at(-1)! < '8' ? 'no-answer' : 'unreachable'));
  const originatedAt: number[] = [];
  const push = fs.originates.push.bind(fs.originates);
  fs.originates.push = (...items) => {
    for (const _ of items) originatedAt.push(performance.now());
    return push(...items);
  };
  const eslPort = await fs.listen();
  const media = new TestMediaServer();
  const mediaPort = await media.listen();
  const adapter = createFreeswitchAdapter(freeswitchConfigSchema.parse({ port: eslPort, password: fs.password, mediaUrl: `ws://127.0.0.1:${mediaPort}/media/freeswitch` }), { log });
  media.routes = adapter.webSocketRoutes();
  await adapter.start();
  while (!adapter.ready) await new Promise((r) => setTimeout(r, 20));
  const store = openSqliteStore(':memory:', { log });
  const admission = new CallAdmission({ maxCalls: 500 });
  const runner = {
    async run(call: { hangup(cause?: number): Promise<void> }) {
      await new Promise((r) => setTimeout(r, 150));
      await call.hangup(16);
    },
  };
  const outbound = new OutboundCallService({ adapters: [adapter], calls: store.calls, runner, log, admission });
  const id = await seedCampaign(store, systemClock, attempts, { cps, maxConcurrent: 400 });
  const dialer = new CampaignDialer({ store: store.campaigns, calls: store.calls, placer: outbound, adapters: [adapter], clock: systemClock, nodeId: 'bench', profiles, freeCalls: () => admission.free, log, tickMs: 20 });
  const t0 = performance.now();
  const load0 = loadavg()[0]!;
  const { peakRssMb, cpuUs } = await measured(async () => {
    await dialer.start();
    while ((await store.campaigns.getCampaign(id))?.state === 'running') await new Promise((r) => setTimeout(r, 100));
    await dialer.stop();
  });
  const pace = paceBySecond(originatedAt, cps);
  const stats = await store.campaigns.stats(id, new Date().toISOString());
  console.log(
    JSON.stringify({
      bench: 'fakepbx',
      attempts,
      targetCps: cps,
      originates: fs.originates.length,
      achievedCps: pace.achievedPerSec,
      perSecondMin: pace.perSecondMin,
      perSecondMax: pace.perSecondMax,
      // Seconds whose originates were within 5 % of the target (the pace held), of the whole seconds of the run.
      secondsWithin5Pct: pace.secondsWithin,
      wholeSeconds: pace.wholeSeconds,
      // This process's CPU per attempt: the dialer, the outbound service, the adapter's ESL and media sides, the store
      // and the fake FreeSWITCH peer (same process) together.
      cpuUsPerAttempt: Math.round(cpuUs / attempts),
      peakRssMb,
      totalSeconds: +((performance.now() - t0) / 1000).toFixed(1),
      // This process (dialer, adapter, store and the peer) and the machine around it, so the figure can be weighed.
      cpuSeconds: +(cpuUs / 1e6).toFixed(1),
      loadAvg1mStartEnd: [load0, loadavg()[0]!].map((l) => +l.toFixed(1)),
      byDisposition: stats.byDisposition,
    }),
  );
  await adapter.stop();
  await media.close();
  await fs.close();
  await store.close();
}

/**
 * The multi-node test's run (test/campaign/multi-node-run.ts) as a measurement: `--nodes` processes dial a paced
 * campaign (`--contacts` at `--cps`) and a capped one (a quarter as many, `--cap` live calls, answered calls lasting
 * `--capped-talk-ms` so the cap binds) through the peer; kills and an outage only when asked. Figures: originates per
 * second across the nodes at the peer (and by claim time), and the capped campaign's live calls during its steady
 * stretch (from its `cap`-th originate to its last: before, the places fill; after, no contact is left to refill
 * them), sampled every 50 ms at the peer (channels up) and in the database (attempts in flight, what the cap counts).
 */
async function multiNode(): Promise<void> {
  const { runMultiNode } = await import('../test/campaign/multi-node-run.ts');
  type PeerOriginate = Awaited<ReturnType<typeof runMultiNode>>['originates'][number];
  const o = { nodes: arg('nodes', 3), contacts: arg('contacts', 2000), cps: arg('cps', 15), cap: arg('cap', 20), cappedTalkMs: arg('capped-talk-ms', 3000), tickMs: arg('tick-ms', 20), kills: arg('kills', 0), outageMs: arg('outage-ms', 0) };
  const load0 = loadavg()[0]!;
  const run = await runMultiNode({ ...o, cappedContacts: Math.ceil(o.contacts / 4), seed: arg('seed', 1), talkMs: 150, finishTimeoutMs: 1_800_000 });
  try {
    const paced = run.originates.filter((x) => x.dial.includes('/paced/'));
    const pace = paceBySecond(paced.map((x) => x.at), o.cps);
    const claimedAt = (x: PeerOriginate) => attemptClaimedAt(x.variables.callpilot_attempt ?? '') ?? NaN;
    const claims = paced.map(claimedAt).filter(Number.isFinite).sort((a, b) => a - b);
    const byClaim = paceBySecond(claims, o.cps);
    const cappedAt = run.originates.filter((x) => x.dial.includes('/capped/')).map((x) => x.at);
    const steady = { from: cappedAt[o.cap - 1] ?? Infinity, to: cappedAt.at(-1) ?? -Infinity };
    // The 50 ms timer's samples only at the peer (those taken at each originate would weigh busy moments twice).
    const timed = run.cappedLive.filter((x) => !x.atOriginate);
    const atPeer = occupancy(timed, o.cap, steady.from, steady.to);
    const inDb = occupancy(run.cappedInFlight, o.cap, steady.from, steady.to);
    const peakAtPeer = Math.max(0, ...run.cappedLive.map((x) => x.live));
    const peakInDb = Math.max(0, ...run.cappedInFlight.map((x) => x.live));
    const stats = await run.store.campaigns.stats(run.paced, new Date().toISOString());
    const round = (x: number, d = 2) => +x.toFixed(d);
    const figures = {
      bench: 'multinode',
      ...o,
      originates: run.originates.length,
      achievedCps: pace.achievedPerSec,
      perSecondMin: pace.perSecondMin,
      perSecondMax: pace.perSecondMax,
      secondsWithin5Pct: pace.secondsWithin,
      wholeSeconds: pace.wholeSeconds,
      // The same by the claim time each attempt id carries: the pacing itself, without the originate's own latency.
      byClaim: { achievedCps: byClaim.achievedPerSec, perSecondMin: byClaim.perSecondMin, perSecondMax: byClaim.perSecondMax, secondsWithin5Pct: byClaim.secondsWithin, wholeSeconds: byClaim.wholeSeconds },
      // Budget the shared bucket dropped because no node claimed for longer than its burst lasts (stalls).
      claimStalls: bucketStalls(claims, o.cps, trunkBurst(o.cps)),
      claimToOriginateMs: distribution(paced.map((x) => x.at - claimedAt(x)).filter(Number.isFinite)),
      cappedSteadySeconds: round(atPeer.spanMs / 1000, 1),
      cappedAtPeer: { timeWeightedMean: round(atPeer.timeWeightedMean), withinShare: round(atPeer.withinShare, 3), samples: atPeer.samples, peakWholeRun: peakAtPeer },
      cappedInFlightDb: { timeWeightedMean: round(inDb.timeWeightedMean), withinShare: round(inDb.withinShare, 3), samples: inDb.samples, peakWholeRun: peakInDb },
      runSeconds: round(run.runMs / 1000, 1),
      loadAvg1mStartEnd: [load0, loadavg()[0]!].map((l) => round(l, 1)),
      pacedByDisposition: stats.byDisposition,
    };
    console.log(JSON.stringify(figures));
    const held = (ok: boolean) => (ok ? 'HELD' : 'NOT HELD');
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    console.log(
      [
        `pace ${o.cps} CPS across ${o.nodes} nodes: ${held(Math.abs(pace.achievedPerSec - o.cps) <= o.cps * 0.05)} on average (${pace.achievedPerSec} CPS); ` +
          `${held(pace.secondsWithin === pace.wholeSeconds)} every second (${pace.secondsWithin} of ${pace.wholeSeconds} whole seconds within 5 %, ${pace.perSecondMin}-${pace.perSecondMax} per second)`,
        `cap ${o.cap} live across ${o.nodes} nodes, ${figures.cappedSteadySeconds} s steady: never above ${held(peakAtPeer <= o.cap && peakInDb <= o.cap)} (peak ${peakAtPeer} at the peer, ${peakInDb} in flight in the database); ` +
          `within 5 % ${held(inDb.timeWeightedMean >= o.cap * 0.95)} in the database (time-weighted mean ${figures.cappedInFlightDb.timeWeightedMean}, ${pct(inDb.withinShare)} of samples at ${Math.ceil(o.cap * 0.95)}+), ` +
          `${held(atPeer.timeWeightedMean >= o.cap * 0.95)} at the peer (mean ${figures.cappedAtPeer.timeWeightedMean}, ${pct(atPeer.withinShare)} of samples)`,
      ].join('\n'),
    );
  } finally {
    await run.close();
  }
}

const mode = process.argv[2];
try {
  if (mode === 'claims') await claims();
  else if (mode === 'import') await importBench();
  else if (mode === 'scheduler') await scheduler();
  else if (mode === 'fakepbx') await fakePbx();
  else if (mode === 'multinode') await multiNode();
  else {
    console.error('usage: bench/campaign-scale.ts claims|import|scheduler|fakepbx|multinode [--contacts N] [--rows N] [--attempts N] [--cps N]');
    process.exitCode = 2;
  }
} finally {
  await dropPg();
}
