/**
 * One callpilot campaign node as a child process, for the kill -9 tests (crash-campaign, multi-node): the real
 * store (SQLite file or PostgreSQL), the real FreeSWITCH adapter over ESL to the test peer the parent runs, the
 * real outbound-call service and campaign dialer with its admission, leases, heartbeats and sweeps. Only the
 * conversation is short and scripted: an answered call lasts `talkMs` (or its contact's `talk_ms` variable), then the
 * bot hangs up with `completed`.
 *
 * argv[2] is JSON: { sqlite?: path, postgres?: url, eslPort, nodeId, maxCalls, leaseMs, heartbeatMs, talkMs,
 * sharedPacing, tickMs }. Prints one JSON line `{"ready":...}` once the dialer runs (its start-up reconciliation done) and
 * `{"stats":...}` every 200 ms; on SIGTERM drains like the app (admission drains, the dialer stops and hands back
 * what it has not dialled, calls in flight end) and exits 0.
 */
import { BUILTIN_PROFILES, CampaignDialer, systemClock } from '../../src/campaign/index.ts';
import { CallAdmission, OutboundCallService } from '../../src/calls/index.ts';
import { freeswitchConfigSchema } from '../../src/pbx/config.ts';
import { createFreeswitchAdapter } from '../../src/pbx/freeswitch/index.ts';
import type { PbxCall } from '../../src/pbx/index.ts';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { TEST_ESL_PASSWORD } from '../pbx/freeswitch/peer/fake-freeswitch.ts';
import { TestMediaServer } from '../pbx/freeswitch/peer/media-server.ts';
import { ALWAYS_OPEN_PROFILE } from './crash-checks.ts';
import { testLog } from '../support/run-log.ts';

export interface NodeArgs {
  sqlite?: string;
  postgres?: string;
  eslPort: number;
  nodeId: string;
  maxCalls: number;
  leaseMs: number;
  heartbeatMs: number;
  talkMs: number;
  sharedPacing?: boolean;
  /** The dialer's pause between passes (default 20 ms; callpilot's own default, campaigns.tickMs, is 100). */
  tickMs?: number;
}


const args = JSON.parse(process.argv[2] ?? '{}') as NodeArgs;
const log = testLog({ node: args.nodeId });

const store: Store = args.postgres
  ? await openPostgresStore(storeConfigSchema.parse({ url: args.postgres }), { log, nodeId: args.nodeId })
  : openSqliteStore(args.sqlite!, { log });

const media = new TestMediaServer();
const mediaPort = await media.listen();
const adapter = createFreeswitchAdapter(
  freeswitchConfigSchema.parse({ port: args.eslPort, password: TEST_ESL_PASSWORD, mediaUrl: `ws://127.0.0.1:${mediaPort}/media/freeswitch`, reconnect: { initialMs: 50, maxMs: 500 } }),
  { log },
);
media.routes = adapter.webSocketRoutes();

const admission = new CallAdmission({ maxCalls: args.maxCalls });
const runner = {
  async run(call: PbxCall, callId?: string): Promise<void> {
    // A contact may carry its own talk time (the multi-node run's capped campaign: calls long enough to fill the cap).
    const talkMs = Number(call.info.variables.talk_ms) || args.talkMs;
    await new Promise((r) => setTimeout(r, talkMs));
    await call.hangup(16);
    if (callId) {
      await store.calls.updateCall(callId, {
        status: 'ended',
        endedAt: new Date().toISOString(),
        disposition: 'completed',
        hangupCause: 16,
        answeredAt: new Date(Date.now() - talkMs).toISOString(),
      });
    }
  },
};
const outbound = new OutboundCallService({ adapters: [adapter], calls: store.calls, runner, log, admission });
const dialer = new CampaignDialer({
  store: store.campaigns,
  calls: store.calls,
  placer: outbound,
  adapters: [adapter],
  clock: systemClock,
  nodeId: args.nodeId,
  profiles: { ...BUILTIN_PROFILES, always: ALWAYS_OPEN_PROFILE },
  freeCalls: () => admission.free,
  log,
  leaseMs: args.leaseMs,
  heartbeatMs: args.heartbeatMs,
  tickMs: args.tickMs ?? 20,
  sharedPacing: args.sharedPacing,
});

await adapter.start();
for (let waited = 0; !adapter.ready; waited += 20) {
  if (waited > 10_000) throw new Error('ESL did not come up');
  await new Promise((r) => setTimeout(r, 20));
}
await dialer.start();
// start() reconciles with the PBX before its first tick: ready once that is through.
while (!dialer.reconciledWithPbx) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(`${JSON.stringify({ ready: args.nodeId, pid: process.pid })}\n`);
// What the parent needs to time its kills: whether the campaign still has contacts to dial.
const stats = setInterval(() => {
  void (async () => {
    const running = await store.campaigns.listCampaigns({ state: 'running' });
    const open = running.length > 0 ? await store.campaigns.stats(running[0]!.id, new Date().toISOString()) : undefined;
    process.stdout.write(
      `${JSON.stringify({ stats: args.nodeId, inFlight: dialer.inFlightCount, handedBack: dialer.handedBack, finished: running.length === 0, open: open ? open.pending + open.dialing : 0 })}\n`,
    );
  })().catch(() => undefined);
}, 200);

process.once('SIGTERM', () => {
  void (async () => {
    clearInterval(stats);
    admission.startDraining();
    await dialer.stop();
    await dialer.settled();
    await outbound.settled();
    await adapter.stop();
    await media.close();
    await store.close();
    process.stdout.write(`${JSON.stringify({ drained: args.nodeId, handedBack: dialer.handedBack })}\n`);
    process.exit(0);
  })().catch((err: unknown) => {
    process.stderr.write(`drain failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
});
